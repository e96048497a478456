#!/bin/sh
# Enqueue an `sku.upsert` job through the ingress (POST /admin/jobs/{name}), no redis-cli needed.
# Usage: ADMIN_URL=http://127.0.0.1:3001 ADMIN_USER=admin ADMIN_PASSWORD=secret ./enqueue-sku.sh [jobId]
# Auth: an API key (API_KEY, from `pnpm cli keys:create`) as Bearer, else the operator's ADMIN_USER/ADMIN_PASSWORD.
# Answers: 202 {"jobId","name","queue","duplicate"}; 400 {"error","message","field","problems"}; 401; 403; 404.
set -eu
url="${ADMIN_URL:-http://127.0.0.1:3001}/admin/jobs/sku.upsert"
if [ "$#" -ge 1 ]; then url="$url?jobId=$1"; fi   # optional: idempotent while that job exists

if [ -n "${API_KEY:-}" ]; then auth="Authorization: Bearer $API_KEY"
else auth="Authorization: Basic $(printf '%s:%s' "${ADMIN_USER:?set API_KEY or ADMIN_USER}" "${ADMIN_PASSWORD:?set ADMIN_PASSWORD}" | base64 | tr -d '\n')"
fi

curl --silent --show-error --fail-with-body \
  --header "$auth" \
  --header 'content-type: application/json' \
  --data @- "$url" <<'JSON'
{
  "skus": [
    {
      "skuCode": "0000001",
      "skuName": "Cola",
      "skuUnit": "罐",
      "skuSpec": "330ml",
      "originalPrice": "2.50",
      "purchasePrice": "1.20",
      "skuPic": "https://img.example.com/cola.png"
    }
  ]
}
JSON
echo
