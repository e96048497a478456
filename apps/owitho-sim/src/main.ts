import { runService } from '@owc/service';
import { loadOwithoSimConfig } from './config.js';
import { startOwithoSim } from './start-owitho-sim.js';

await runService({
  name: 'owitho-sim',
  loadConfig: () => loadOwithoSimConfig(),
  logLevel: (config) => config.LOG_LEVEL,
  start: async (config, logger) => {
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
      tolerantShare: config.OWITHO_SIM_TOLERANT_SHARE,
      seed: {
        machines: config.OWITHO_SIM_SEED_MACHINES,
        slotsPerMachine: config.OWITHO_SIM_SEED_SLOTS,
        ...(config.OWITHO_SIM_SEED_SKUS ? { skus: config.OWITHO_SIM_SEED_SKUS } : {}),
      },
      faults,
      logger,
    });
    // close() stops the stream and every driver timer before closing the server
    if (config.OWITHO_SIM_STREAM_RATE > 0)
      started.sim.startStream({ ratePerSec: config.OWITHO_SIM_STREAM_RATE });
    logger.info({ url: started.url, streamRate: config.OWITHO_SIM_STREAM_RATE }, 'owitho-sim started');
    return started;
  },
});
