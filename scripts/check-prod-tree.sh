#!/bin/sh
# CI check of the production images' contents, without a Docker engine: builds each app's
# production tree with scripts/build-prod-tree.sh (what the Dockerfile runs), fails when a test,
# bench or build tool is in it, then starts the ingress and the worker from their trees against
# REDIS_URL and runs the worker's CLI as the image would (`node dist/cli/main.js`).
#
#   scripts/check-prod-tree.sh [out-dir]      (default: a fresh temporary directory)
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
out="${1:-$(mktemp -d)}"
redis_url="${REDIS_URL:-redis://127.0.0.1:6379}"
# never in a production tree: test runners and their containers, benchmarks, compilers, linters
forbidden='^(vitest|@vitest\+|testcontainers|dockerode|docker-modem|ssh2|cpu-features|autocannon|tsx|typescript|turbo|@biomejs\+|fast-check|@owc\+testing|@owc\+e2e|@owc\+bench|playwright)'

status=0
# the two apps that ship to production (the Dockerfile builds the simulators the same way)
for app in ingress worker; do
  started=$(date +%s)
  sh scripts/build-prod-tree.sh "$app" "$out/$app"
  # known: @bull-board/api (ingress) declares typescript as a peer dependency, which pnpm
  # resolves from the workspace root, so the ingress tree carries typescript until that peer is
  # excluded (docs/operations.md: Deploy). Allowed there only; anything else fails.
  allowed='^$'
  [ "$app" = ingress ] && allowed='^typescript@'
  bad=$(ls "$out/$app/node_modules/.pnpm" | grep -E "$forbidden" | grep -Ev "$allowed" || true)
  size=$(du -s --apparent-size --block-size=1M "$out/$app" | cut -f1)
  count=$(ls "$out/$app/node_modules/.pnpm" | grep -vc '^node_modules$' || true)
  echo "prod-tree: $app: ${size} MB, $count packages, built in $(($(date +%s) - started)) s"
  if [ -n "$bad" ]; then
    echo "prod-tree: $app ships what it must not:" $bad >&2
    status=1
  fi
done
[ "$status" -eq 0 ] || exit "$status"

# start the apps from their trees, as the images' CMD does, and ask them what a probe asks
prefix="prodtree$$"
common="REDIS_URL=$redis_url KEY_PREFIX=$prefix OWITHO_APP_ID=prod-tree MACHINE_GATEWAY_URL=http://127.0.0.1:9 LOG_LEVEL=warn"
pids=""
cleanup() {
  for pid in $pids; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
ports=$(node -e "
  const net=require('net');const get=()=>new Promise(r=>{const s=net.createServer();s.listen(0,'127.0.0.1',()=>{const p=s.address().port;s.close(()=>r(p))})});
  (async()=>{console.log([await get(),await get(),await get()].join(' '))})()")
set -- $ports
ingress_port=$1 admin_port=$2 worker_port=$3
(cd "$out/ingress" && env $common INGRESS_HOST=127.0.0.1 INGRESS_PORT="$ingress_port" ADMIN_HOST=127.0.0.1 \
  ADMIN_PORT="$admin_port" ADMIN_USER=admin ADMIN_PASSWORD=prod-tree node dist/main.js) &
pids="$pids $!"
(cd "$out/worker" && env $common OWITHO_BASE_URL=http://127.0.0.1:9 OWITHO_SECRET_KEY=prod-tree \
  WORKER_ROLES=dispense,callback,sync WORKER_METRICS_PORT="$worker_port" node dist/main.js) &
pids="$pids $!"
node "$root/scripts/wait-http.mjs" \
  "http://127.0.0.1:$ingress_port/healthz" "http://127.0.0.1:$admin_port/metrics" \
  "http://127.0.0.1:$worker_port/healthz" "http://127.0.0.1:$worker_port/readyz"
(cd "$out/worker" && env REDIS_URL="$redis_url" KEY_PREFIX="$prefix" node dist/cli/main.js orders:stuck >/dev/null)
echo "prod-tree: ingress and worker started from their trees; the worker's CLI runs there"
