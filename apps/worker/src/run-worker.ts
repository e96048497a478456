import type { Server } from 'node:http';
import { HttpMachineGateway } from '@owc/gateway';
import { createMetricsRegistry, type Logger, type Tracing } from '@owc/observability';
import { OrderStore, OrderTimeline } from '@owc/order-store';
import { OwithoClient, tokenMisconfiguration } from '@owc/owitho-client';
import { createProducer } from '@owc/queues';
import { closeRedis, coalesceWrites, createRedis, type RedisClient } from '@owc/redis';
import { credentialsFingerprint, TokenKeeper, tokenMetrics } from '@owc/token';
import { Redis } from 'ioredis';
import type { WorkerConfig } from './config.js';
import { startMetricsServer } from './metrics-server.js';
import { queueMetrics } from './queues/queue-metrics.js';
import { Readiness, redisCheck } from './readiness.js';
import { roleStarters } from './roles/index.js';
import { TimelineWriter } from './timeline-writer.js';
import type { RunningRole, WorkerContext } from './worker-context.js';

export interface RunningWorker {
  context: WorkerContext;
  /** where /metrics, /healthz and /readyz answer (undefined when WORKER_METRICS_PORT is -1) */
  metricsPort?: number;
  /** what /readyz answers */
  readiness: Readiness;
  /** Stops every role within SHUTDOWN_TIMEOUT_MS, then closes connections. */
  close(): Promise<void>;
}

/** How long each closing step after the roles may take (leases, sockets, Redis) */
const CLOSE_GRACE_MS = 400;

/** Bounds a promise in time: BullMQ's close() has no timeout of its own. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function runWorker(
  config: WorkerConfig,
  logger: Logger,
  /** started in main when OTEL_EXPORTER_OTLP_ENDPOINT is set; undefined: tracing off */
  tracing?: Tracing,
): Promise<RunningWorker> {
  const redisSettings = { url: config.REDIS_URL, clusterNodes: config.REDIS_CLUSTER_NODES };
  const connections: RedisClient[] = [];
  const newConnection = (): RedisClient => {
    const connection = createRedis(redisSettings, 'worker');
    // the commands of one turn of the event loop (many jobs' steps, BullMQ's moves and lock
    // renewals) leave in one socket write: socket writes were a quarter of the worker's busy time
    if (connection instanceof Redis) coalesceWrites(connection);
    connection.on('error', (error: Error) => logger.warn({ err: error }, 'redis connection error'));
    connections.push(connection);
    return connection;
  };
  const redis = newConnection();
  const metrics = createMetricsRegistry('worker');

  // The keeper fetches through the client, and the client signs with the keeper's tokens.
  const tokens: TokenKeeper = new TokenKeeper({
    redis,
    keyPrefix: config.KEY_PREFIX,
    fetchToken: () => owitho.getAccessToken(),
    overlapMs: config.TOKEN_OVERLAP_MS,
    refreshMarginMs: config.TOKEN_REFRESH_MARGIN_MS,
    dailyQuota: config.TOKEN_DAILY_QUOTA,
    quotaWarnShare: config.TOKEN_QUOTA_WARN_SHARE,
    cacheMs: config.TOKEN_CACHE_MS,
    waitMs: config.TOKEN_WAIT_MS,
    pollMs: config.TOKEN_POLL_MS,
    backoff: {
      baseMs: config.TOKEN_FETCH_BACKOFF_BASE_MS,
      maxMs: config.TOKEN_FETCH_BACKOFF_MAX_MS,
      jitter: config.TOKEN_FETCH_BACKOFF_JITTER,
    },
    misconfigurationOf: tokenMisconfiguration,
    credentials: credentialsFingerprint(config.OWITHO_APP_ID, config.OWITHO_SECRET_KEY),
    logger: logger.child({ component: 'token' }),
    metrics: tokenMetrics(metrics),
  });
  const owitho: OwithoClient = new OwithoClient({
    baseUrl: config.OWITHO_BASE_URL,
    appId: config.OWITHO_APP_ID,
    secretKey: config.OWITHO_SECRET_KEY,
    tokens,
    connectTimeoutMs: config.OWITHO_CONNECT_TIMEOUT_MS,
    headersTimeoutMs: config.OWITHO_HEADERS_TIMEOUT_MS,
    bodyTimeoutMs: config.OWITHO_BODY_TIMEOUT_MS,
    connections: config.OWITHO_CONNECTIONS,
    logger: logger.child({ component: 'owitho-client' }),
  });

  const context: WorkerContext = {
    config,
    logger,
    metrics,
    redis,
    newConnection,
    store: new OrderStore({ redis, keyPrefix: config.KEY_PREFIX, ttlMs: config.ORDER_TTL_MS }),
    timeline: new TimelineWriter(
      new OrderTimeline({
        redis,
        keyPrefix: config.KEY_PREFIX,
        ttlMs: config.ORDER_TTL_MS,
        maxEvents: config.ORDER_TIMELINE_MAX_EVENTS,
      }),
      logger.child({ component: 'timeline' }),
    ),
    producer: createProducer(redis, {
      keyPrefix: config.KEY_PREFIX,
      telemetry: tracing?.bullmq,
      onQueueError: (error, queue) => logger.warn({ err: error, queue }, 'queue error'),
    }),
    telemetry: tracing?.bullmq,
    tokens,
    owitho,
    gateway: new HttpMachineGateway({
      baseUrl: config.MACHINE_GATEWAY_URL,
      vendTimeoutMs: config.GATEWAY_VEND_TIMEOUT_MS,
      queryTimeoutMs: config.GATEWAY_QUERY_TIMEOUT_MS,
      connections: config.GATEWAY_CONNECTIONS,
    }),
  };

  // queue depth and age come from the shared queues: any worker can export them
  queueMetrics(metrics, context.producer);

  const running: RunningRole[] = [];
  const readiness = new Readiness(config.READY_CHECK_TIMEOUT_MS);
  readiness.add('redis', redisCheck(redis));
  // every worker, whatever its roles: owitho refusing our credentials is an operator's problem
  readiness.add('credentials', async () => {
    const health = await tokens.health();
    return health.misconfiguration ? `owitho refuses our credentials: ${health.misconfiguration}` : undefined;
  });
  let started = false;
  readiness.add('roles', async () => (started ? undefined : 'starting'));
  let metricsServer: Server | undefined;
  const closeAll = async (): Promise<void> => {
    readiness.stop();
    const stopped = await within(
      Promise.allSettled(running.map((r) => r.close())),
      config.SHUTDOWN_TIMEOUT_MS,
    );
    if (!stopped) {
      logger.warn({ timeoutMs: config.SHUTDOWN_TIMEOUT_MS }, 'roles did not stop in time; closing anyway');
      // a vend still in flight is left to the next pod (it asks the gateway); its lease goes now
      await within(Promise.allSettled(running.map((r) => r.abandon?.())), CLOSE_GRACE_MS);
    }
    // every step below is bounded too: the process exits within SHUTDOWN_TIMEOUT_MS + about 1.5 s
    await within(
      Promise.allSettled([
        context.producer.close(),
        context.gateway.close(CLOSE_GRACE_MS),
        owitho.close(CLOSE_GRACE_MS),
        new Promise<void>((resolve) => {
          if (!metricsServer) return resolve();
          metricsServer.close(() => resolve());
          metricsServer.closeAllConnections();
        }),
      ]),
      CLOSE_GRACE_MS * 2,
    );
    await Promise.allSettled(connections.map((c) => closeRedis(c, CLOSE_GRACE_MS)));
  };

  try {
    // listening first, so liveness answers while the roles start (readiness says "starting")
    let metricsPort: number | undefined;
    if (config.WORKER_METRICS_PORT >= 0) {
      const listening = await startMetricsServer(metrics, config.WORKER_METRICS_PORT, readiness);
      metricsServer = listening.server;
      metricsPort = listening.port;
    }
    for (const role of config.WORKER_ROLES) {
      const runningRole = await roleStarters[role](context);
      running.push(runningRole);
      for (const [name, check] of Object.entries(runningRole.readiness ?? {}))
        readiness.add(`${role}.${name}`, check);
      logger.info({ role }, 'role started');
    }
    started = true;
    return { context, metricsPort, readiness, close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
