import { ConfigError } from '@owc/config';
import { createLogger, type Logger, Registry } from '@owc/observability';
import { OrderStore, OrderTimeline } from '@owc/order-store';
import { OwithoClient, tokenMisconfiguration } from '@owc/owitho-client';
import { ApiKeyStore, createProducer } from '@owc/queues';
import { closeRedis, createRedis, type RedisClient } from '@owc/redis';
import { credentialsFingerprint, TokenKeeper, tokenMetrics } from '@owc/token';
import { loadWorkerConfig } from '../config.js';
import { SkuBuffer } from '../sync/sku-buffer.js';
import { CLI_USAGE, runCliCommand, UsageError } from './cli-commands.js';
import { loadCliConfig } from './cli-config.js';

/** `pnpm cli <command>`: operator commands over the order store and the queues. */
async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === 'help') {
    console.log(CLI_USAGE);
    return argv.length === 0 ? 2 : 0;
  }
  const config = loadCliConfig();
  const logger = createLogger({
    level: config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL,
    name: 'cli',
  });
  const redis = createRedis({ url: config.REDIS_URL, clusterNodes: config.REDIS_CLUSTER_NODES }, 'worker');
  const producer = createProducer(redis, { keyPrefix: config.KEY_PREFIX });
  // only token:refresh talks to owitho, so only it needs the worker's owitho settings
  const owithoSide = argv[0] === 'token:refresh' ? tokenKeeper(redis, logger) : undefined;
  try {
    return await runCliCommand(
      {
        store: new OrderStore({ redis, keyPrefix: config.KEY_PREFIX, ttlMs: config.ORDER_TTL_MS }),
        producer,
        keys: new ApiKeyStore(redis, config.KEY_PREFIX),
        skuBuffer: new SkuBuffer({ redis, keyPrefix: config.KEY_PREFIX }),
        timeline: new OrderTimeline({
          redis,
          keyPrefix: config.KEY_PREFIX,
          ttlMs: config.ORDER_TTL_MS,
          maxEvents: config.ORDER_TIMELINE_MAX_EVENTS,
        }),
        stuckAfterMs: config.STUCK_ORDER_AFTER_MS,
        logger,
        tokens: owithoSide?.tokens,
        dailyQuota: owithoSide?.dailyQuota,
        out: (line) => console.log(line),
      },
      argv,
    );
  } finally {
    await producer.close();
    await owithoSide?.close();
    await closeRedis(redis);
  }
}

/** The token keeper of `token:refresh`, from the worker's full settings (owitho credentials). */
function tokenKeeper(redis: RedisClient, logger: Logger) {
  const config = loadWorkerConfig();
  const owitho = new OwithoClient({
    baseUrl: config.OWITHO_BASE_URL,
    appId: config.OWITHO_APP_ID,
    secretKey: config.OWITHO_SECRET_KEY,
    connectTimeoutMs: config.OWITHO_CONNECT_TIMEOUT_MS,
    headersTimeoutMs: config.OWITHO_HEADERS_TIMEOUT_MS,
    bodyTimeoutMs: config.OWITHO_BODY_TIMEOUT_MS,
    connections: 1,
  });
  const tokens = new TokenKeeper({
    redis,
    keyPrefix: config.KEY_PREFIX,
    fetchToken: () => owitho.getAccessToken(),
    overlapMs: config.TOKEN_OVERLAP_MS,
    refreshMarginMs: config.TOKEN_REFRESH_MARGIN_MS,
    dailyQuota: config.TOKEN_DAILY_QUOTA,
    quotaWarnShare: config.TOKEN_QUOTA_WARN_SHARE,
    cacheMs: 0,
    waitMs: config.TOKEN_WAIT_MS,
    // a CLI run is never scraped: its metrics go to a registry of its own
    metrics: tokenMetrics(new Registry()),
    backoff: {
      baseMs: config.TOKEN_FETCH_BACKOFF_BASE_MS,
      maxMs: config.TOKEN_FETCH_BACKOFF_MAX_MS,
      jitter: config.TOKEN_FETCH_BACKOFF_JITTER,
    },
    misconfigurationOf: tokenMisconfiguration,
    credentials: credentialsFingerprint(config.OWITHO_APP_ID, config.OWITHO_SECRET_KEY),
    logger,
  });
  return { tokens, dailyQuota: config.TOKEN_DAILY_QUOTA, close: () => owitho.close() };
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      console.error(`${error.message}\n${CLI_USAGE}`);
      process.exit(2);
    }
    if (error instanceof ConfigError) {
      console.error(`cli: ${error.message}`);
      process.exit(2);
    }
    console.error(`cli: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
