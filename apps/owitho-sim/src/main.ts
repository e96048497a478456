import { ConfigError } from '@owc/config';
import { createLogger } from '@owc/observability';
import { loadOwithoSimConfig, type OwithoSimConfig } from './config.js';
import { startOwithoSim } from './start-owitho-sim.js';

async function main(): Promise<void> {
  let config: OwithoSimConfig;
  try {
    config = loadOwithoSimConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`owitho-sim: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger({ level: config.LOG_LEVEL, name: 'owitho-sim', pretty: process.stdout.isTTY });
  const faults = {
    ...(config.OWITHO_SIM_FAULTS ?? {}),
    ...(config.OWITHO_SIM_ERROR_RATE > 0 ? { errorRate: config.OWITHO_SIM_ERROR_RATE } : {}),
    ...(config.OWITHO_SIM_LATENCY_MS > 0 ? { latencyMs: config.OWITHO_SIM_LATENCY_MS } : {}),
  };
  const started = await startOwithoSim({
    appId: config.OWITHO_SIM_APP_ID,
    secretKey: config.OWITHO_SIM_SECRET_KEY,
    host: config.OWITHO_SIM_HOST,
    port: config.OWITHO_SIM_PORT,
    thirdUrl: config.OWITHO_SIM_THIRD_URL,
    utcToleranceMs: config.OWITHO_SIM_UTC_TOLERANCE_MS,
    tokenLifetimeMs: config.OWITHO_SIM_TOKEN_LIFETIME_MS,
    tokenOverlapMs: config.OWITHO_SIM_TOKEN_OVERLAP_MS,
    dailyTokenQuota: config.OWITHO_SIM_TOKEN_QUOTA,
    noticeRetryMs: config.OWITHO_SIM_NOTICE_RETRY_MS,
    duplicateRate: config.OWITHO_SIM_DUPLICATE_RATE,
    queryAfterMs: config.OWITHO_SIM_QUERY_AFTER_MS,
    maxPushesPerOrder: config.OWITHO_SIM_MAX_PUSHES,
    seed: {
      machines: config.OWITHO_SIM_SEED_MACHINES,
      slotsPerMachine: config.OWITHO_SIM_SEED_SLOTS,
      ...(config.OWITHO_SIM_SEED_SKUS ? { skus: config.OWITHO_SIM_SEED_SKUS } : {}),
    },
    faults,
    logger,
  });
  if (config.OWITHO_SIM_STREAM_RATE > 0)
    started.sim.startStream({ ratePerSec: config.OWITHO_SIM_STREAM_RATE });
  logger.info({ url: started.url, streamRate: config.OWITHO_SIM_STREAM_RATE }, 'owitho-sim started');

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    started.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(
    `owitho-sim: failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
