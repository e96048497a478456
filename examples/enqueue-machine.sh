#!/bin/sh
# Enqueue `machine.restocked` and `machine.layout` through the ingress (POST /admin/jobs/{name}).
# Usage: ADMIN_URL=http://127.0.0.1:3001 API_KEY=owc_… ./enqueue-machine.sh <machineCode>
# Auth: an API key (API_KEY, from `pnpm cli keys:create`) as Bearer, else the operator's ADMIN_USER/ADMIN_PASSWORD.
# machine.restocked answers 422 {"error":"unknown_machine","field":"machineCode"} for a machine the gateway lacks.
set -eu
machine="${1:?usage: enqueue-machine.sh <machineCode>}"
base="${ADMIN_URL:-http://127.0.0.1:3001}/admin/jobs"
if [ -n "${API_KEY:-}" ]; then auth="Authorization: Bearer $API_KEY"
else auth="Authorization: Basic $(printf '%s:%s' "${ADMIN_USER:?set API_KEY or ADMIN_USER}" "${ADMIN_PASSWORD:?set ADMIN_PASSWORD}" | base64 | tr -d '\n')"
fi
post() { # post <job name> <json body>
  curl --silent --show-error --fail-with-body --header "$auth" --header 'content-type: application/json' \
    --data "$2" "$base/$1"
  echo
}

# a restock finished: the worker reads the machine from the gateway and sends machine/sync
post machine.restocked "{\"machineCode\":\"$machine\"}"

# a full layout known to the sender (money: strings with two decimals)
post machine.layout "{\"machineCode\":\"$machine\",\"containerCode\":\"01\",\"machineStatus\":10,\"slotList\":[{\"slotNum\":\"01\",\"row\":1,\"col\":1,\"skuCode\":\"0000001\",\"skuName\":\"Cola\",\"originalPrice\":\"2.50\",\"actualPrice\":\"2.00\",\"maxInventory\":10,\"currentInventory\":8,\"slotStatus\":0}]}"
