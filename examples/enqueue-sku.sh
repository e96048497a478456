#!/bin/sh
# Enqueue an `sku.upsert` job through the ingress (POST /admin/jobs/{name}), no redis-cli needed.
# Usage: ADMIN_URL=http://127.0.0.1:3001 ADMIN_USER=admin ADMIN_PASSWORD=secret ./enqueue-sku.sh [jobId]
# Answers: 202 {"jobId","name","queue"}; 400 {"error","message"} naming the field; 401; 404 unknown job name.
set -eu
url="${ADMIN_URL:-http://127.0.0.1:3001}/admin/jobs/sku.upsert"
if [ "$#" -ge 1 ]; then url="$url?jobId=$1"; fi   # optional: idempotent while that job exists

curl --silent --show-error --fail-with-body \
  --user "${ADMIN_USER:?set ADMIN_USER}:${ADMIN_PASSWORD:?set ADMIN_PASSWORD}" \
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
