# syntax=docker/dockerfile:1.7
# One slim image per app: `docker build --target ingress -t owitho-connector-ingress .` (targets:
# ingress, worker, owitho-sim, machine-sim). Each holds only its app's compiled dist/ and its
# production dependencies, made by scripts/build-prod-tree.sh, the same script CI runs and checks
# (scripts/check-prod-tree.sh: no test, bench or build tool in the tree; the apps start from it).
FROM node:20-alpine AS base
RUN npm i -g pnpm@10.34.9
WORKDIR /src
ENV TURBO_TELEMETRY_DISABLED=1 CI=true

# --- build: the full workspace, once; then one production tree per app under /prod
FROM base AS build
COPY . .
RUN pnpm install --frozen-lockfile
RUN sh scripts/build-prod-tree.sh ingress /prod/ingress \
 && sh scripts/build-prod-tree.sh worker /prod/worker \
 && sh scripts/build-prod-tree.sh owitho-sim /prod/owitho-sim \
 && sh scripts/build-prod-tree.sh machine-sim /prod/machine-sim

# --- runtime: no compiler, no package manager, not root (uid 1000: the manifests' runAsUser)
FROM node:20-alpine AS runtime
RUN apk add --no-cache tini
WORKDIR /app
ENV NODE_ENV=production
USER node
ENTRYPOINT ["/sbin/tini", "--"]

FROM runtime AS ingress
COPY --from=build --chown=node:node /prod/ingress /app
# V8's young generation capped at 8 MB semi-spaces: ~15 MB less RSS after a burst for ~3 % more
# CPU per request (docs/operations.md, "Process memory")
ENV NODE_OPTIONS="--max-semi-space-size=8"
EXPOSE 3000 3001
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD wget -qO- "http://127.0.0.1:${INGRESS_PORT:-3000}/healthz" >/dev/null || exit 1
CMD ["node", "dist/main.js"]

FROM runtime AS owitho-sim
COPY --from=build --chown=node:node /prod/owitho-sim /app
EXPOSE 4000
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD wget -qO- "http://127.0.0.1:${OWITHO_SIM_PORT:-4000}/_sim/state" >/dev/null || exit 1
CMD ["node", "dist/main.js"]

FROM runtime AS machine-sim
COPY --from=build --chown=node:node /prod/machine-sim /app
EXPOSE 4100
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD wget -qO- "http://127.0.0.1:${MACHINE_SIM_PORT:-4100}/ledger" >/dev/null || exit 1
CMD ["node", "dist/main.js"]

# last, so a plain `docker build .` gives the worker; the CLI: `docker run … node dist/cli/main.js <command>`
FROM runtime AS worker
COPY --from=build --chown=node:node /prod/worker /app
# V8's young generation capped at 4 MB semi-spaces: ~50 MB less RSS after a burst for ~2 % more
# CPU per order (docs/operations.md, "Process memory"); NODE_OPTIONS='' gives the memory back for CPU
ENV NODE_OPTIONS="--max-semi-space-size=4"
EXPOSE 9464
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD wget -qO- "http://127.0.0.1:${WORKER_METRICS_PORT:-9464}/healthz" >/dev/null || exit 1
CMD ["node", "dist/main.js"]
