# syntax=docker/dockerfile:1.7
# One image for every app of the workspace; the service picks its entry point (see docker-compose.yml).
FROM node:20-alpine AS base
RUN npm i -g pnpm@10.34.9 && apk add --no-cache tini
WORKDIR /app
ENV TURBO_TELEMETRY_DISABLED=1

# --- build: full install, compile every package and app to dist/, then drop dev dependencies
FROM base AS build
COPY . .
RUN pnpm install --frozen-lockfile \
 && pnpm build \
 && pnpm install --frozen-lockfile --prod --ignore-scripts \
 && rm -rf bench test .turbo

# --- runtime: no compiler, no dev dependencies, not root
FROM node:20-alpine AS runtime
RUN apk add --no-cache tini
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build --chown=node:node /app /app
USER node
ENTRYPOINT ["/sbin/tini", "--"]
# overridden per service: apps/ingress/dist/main.js, apps/worker/dist/main.js, …
CMD ["node", "apps/ingress/dist/main.js"]
