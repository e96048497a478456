import { HttpMachineGateway } from '@owc/gateway';
import { MachineStateStore } from '@owc/machine-state';
import {
  createLogger,
  createMetricsRegistry,
  type Logger,
  type Registry,
  type Tracing,
} from '@owc/observability';
import { OrderStore } from '@owc/order-store';
import { createProducer, QUEUE_NAMES } from '@owc/queues';
import { closeRedis, createRedis, type RedisClient } from '@owc/redis';
import { SignatureFailureWatch, TokenKeeper, tokenMetrics } from '@owc/token';
import type { FastifyInstance } from 'fastify';
import { buildIngress, type IngressApps } from './app.js';
import type { IngressConfig } from './config.js';
import type { HonouredTokens, IngressDeps, MachineReader } from './ingress-deps.js';
import { ingressMetrics } from './ingress-metrics.js';
import { withinTime } from './time-limit.js';

function redisReady(redis: RedisClient): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => redis.once('ready', () => resolve()));
}

/**
 * The keeper's read side. Its fetchToken throws: the ingress never fetches a token (exactly one
 * place does: the worker's `token` role), so a missing token is a 503, never a fetch. When
 * inbound signatures keep failing it may *ask* the keeper for a verification refresh
 * (SignatureFailureWatch: rate-bounded).
 */
function readOnlyTokens(
  logger: Logger,
  registry: Registry,
  redis: RedisClient,
  config: IngressConfig,
): HonouredTokens {
  const keeper = new TokenKeeper({
    redis,
    keyPrefix: config.KEY_PREFIX,
    fetchToken: async () => {
      throw new Error('the ingress never fetches an access token (the worker token role does)');
    },
    overlapMs: config.TOKEN_OVERLAP_MS,
    refreshMarginMs: config.TOKEN_REFRESH_MARGIN_MS,
    dailyQuota: config.TOKEN_DAILY_QUOTA,
    quotaWarnShare: config.TOKEN_QUOTA_WARN_SHARE,
    cacheMs: config.TOKEN_CACHE_MS,
    logger: logger.child({ component: 'token' }),
    metrics: tokenMetrics(registry),
  });
  const watch = new SignatureFailureWatch({
    redis,
    keyPrefix: config.KEY_PREFIX,
    keeper,
    quietMs: config.TOKEN_VERIFY_QUIET_MS,
    baseIntervalMs: config.TOKEN_VERIFY_REFRESH_BASE_MS,
    maxIntervalMs: config.TOKEN_VERIFY_REFRESH_MAX_MS,
    logger: logger.child({ component: 'token' }),
  });
  return {
    peekHonouredTokens: () => keeper.peekHonouredTokens(),
    freshHonouredTokens: async () => {
      await keeper.readState();
      return keeper.peekHonouredTokens();
    },
    health: () => keeper.health(),
    verified: () => watch.verified(),
    signatureFailed: (tokens) => watch.failed(tokens),
  };
}

export interface RunningIngress {
  /** http://host:port of the public listener (127.0.0.1 when bound to every interface) */
  url: string;
  /** http://host:port of the admin listener (dashboard, /admin/*, /metrics, /docs) */
  adminUrl: string;
  /** the public listener's Fastify instance */
  app: FastifyInstance;
  /** the admin listener's Fastify instance */
  admin: FastifyInstance;
  deps: IngressDeps;
  /** Stops accepting, lets in-flight requests finish (bounded by SHUTDOWN_TIMEOUT_MS), closes Redis. */
  close(): Promise<void>;
}

export interface StartIngressOverrides {
  /** replaces the TokenKeeper (e.g. a test's own keeper) */
  tokens?: HonouredTokens;
  /** replaces the HTTP machine gateway */
  gateway?: MachineReader;
  now?: () => number;
  /** started in main when OTEL_EXPORTER_OTLP_ENDPOINT is set */
  tracing?: Tracing;
}

/**
 * Builds everything from the config, listens, and returns a handle to stop it. The ingress
 * never fetches an access token: its keeper only reads the one the worker's `token` role keeps.
 */
export async function startIngress(
  config: IngressConfig,
  logger: Logger = createLogger({ level: config.LOG_LEVEL, name: 'ingress' }),
  overrides: StartIngressOverrides = {},
): Promise<RunningIngress> {
  const redis = createRedis(
    {
      url: config.REDIS_URL,
      clusterNodes: config.REDIS_CLUSTER_NODES,
      commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
    },
    'producer',
  );
  redis.on('error', (error: Error) => logger.warn({ err: error }, 'redis connection error'));
  const registry = createMetricsRegistry('ingress');
  const tokens = overrides.tokens ?? readOnlyTokens(logger, registry, redis, config);
  const httpGateway = overrides.gateway
    ? undefined
    : new HttpMachineGateway({
        baseUrl: config.MACHINE_GATEWAY_URL,
        vendTimeoutMs: config.MACHINE_QUERY_TIMEOUT_MS,
        queryTimeoutMs: config.MACHINE_QUERY_TIMEOUT_MS,
        connections: config.GATEWAY_CONNECTIONS,
      });
  const producer = createProducer(redis, {
    keyPrefix: config.KEY_PREFIX,
    telemetry: overrides.tracing?.bullmq,
    onQueueError: (error, queue) => logger.warn({ err: error, queue }, 'queue error'),
  });
  // BullMQ's handshake (a version check) runs now rather than under the first burst of notices
  for (const name of QUEUE_NAMES) producer.queue(name);
  const deps: IngressDeps = {
    config,
    logger,
    redis,
    store: new OrderStore({ redis, keyPrefix: config.KEY_PREFIX, ttlMs: config.ORDER_TTL_MS }),
    producer,
    tokens,
    gateway: overrides.gateway ?? (httpGateway as MachineReader),
    machines: new MachineStateStore({ redis, keyPrefix: config.KEY_PREFIX }),
    metrics: ingressMetrics(registry),
    now: overrides.now,
    tracing: overrides.tracing,
  };

  const closeConnections = async () => {
    await Promise.allSettled([producer.close(), httpGateway?.close()]);
    await closeRedis(redis);
  };

  // wait (bounded) for the first connection so early requests do not meet a not-yet-ready client;
  // a Redis that is down at boot is not fatal: requests answer 503 and /readyz fails until it is back
  await withinTime(redisReady(redis), config.REDIS_CONNECT_WAIT_MS, 'connecting to Redis').catch(() =>
    logger.warn('Redis is not reachable yet: answering 503 until it is'),
  );

  let apps: IngressApps | undefined;
  try {
    apps = await buildIngress(deps);
    // the admin listener first: a port clash there must not leave owitho's port half-open
    await apps.admin.listen({ host: config.ADMIN_HOST, port: config.ADMIN_PORT });
    await apps.public.listen({ host: config.INGRESS_HOST, port: config.INGRESS_PORT });
  } catch (error) {
    if (apps) await Promise.allSettled([apps.admin.close(), apps.public.close()]);
    await closeConnections();
    throw error;
  }
  const { public: app, admin } = apps;

  // app.close() stops accepting and waits for in-flight requests; bound it, then cut what is left
  const closeListener = async (listener: FastifyInstance, name: string): Promise<void> => {
    const closed = await withinTime(listener.close(), config.SHUTDOWN_TIMEOUT_MS, `closing the ${name}`).then(
      () => true,
      () => false,
    );
    if (!closed) {
      logger.warn(
        { timeoutMs: config.SHUTDOWN_TIMEOUT_MS, listener: name },
        'in-flight requests did not finish in time',
      );
      listener.server.closeAllConnections();
    }
  };
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      await Promise.all([closeListener(app, 'public listener'), closeListener(admin, 'admin listener')]);
      await closeConnections();
    })();
    return closing;
  };
  return {
    url: listenerUrl(app, config.INGRESS_HOST),
    adminUrl: listenerUrl(admin, config.ADMIN_HOST),
    app,
    admin,
    deps,
    close,
  };
}

/** http://host:port a listening instance answers on (127.0.0.1 when bound to every interface). */
function listenerUrl(listener: FastifyInstance, boundHost: string): string {
  const address = listener.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const host = boundHost === '0.0.0.0' || boundHost === '::' ? '127.0.0.1' : boundHost;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
