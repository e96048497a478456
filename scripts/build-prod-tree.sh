#!/bin/sh
# The production tree of one app: its compiled dist/ and only its runtime dependencies (no
# test, bench or build tooling). The Dockerfile runs exactly this; so does the test that checks
# the tree (test/deploy/prod-tree.test.ts), so what is checked is what ships.
#
#   scripts/build-prod-tree.sh <app> <out-dir>     e.g. scripts/build-prod-tree.sh worker /prod/worker
#
# Expects `pnpm install --frozen-lockfile` done in the workspace. Builds the app and the
# workspace packages it depends on (turbo, `^build`), then `pnpm deploy --prod` copies the app
# with its production dependencies into <out-dir> (workspace packages as real directories,
# each with its dist/). Run the app there with `node dist/main.js` (the worker's CLI:
# `node dist/cli/main.js`).
set -eu
app="$1"
out="$2"
case "$app" in
  ingress | worker | owitho-sim | machine-sim) ;;
  *)
    echo "build-prod-tree: unknown app '$app' (ingress, worker, owitho-sim, machine-sim)" >&2
    exit 2
    ;;
esac
cd "$(dirname "$0")/.."
export TURBO_TELEMETRY_DISABLED=1
pnpm exec turbo run build --filter="@owc/$app..." --output-logs=errors-only
rm -rf "$out"
# --legacy: deploy from the lockfile without injected workspace packages (which would change how
# the workspace links its own packages in development)
pnpm --filter="@owc/$app" deploy --prod --legacy --config.ignore-scripts=true "$out" >/dev/null
