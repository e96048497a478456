import { runService } from '@owc/service';
import { loadWorkerConfig } from './config.js';
import { runWorker } from './run-worker.js';

await runService({
  name: 'worker',
  loadConfig: () => loadWorkerConfig(),
  logLevel: (config) => config.LOG_LEVEL,
  start: async (config, logger) => {
    const worker = await runWorker(config, logger);
    logger.info({ roles: config.WORKER_ROLES, metricsPort: worker.metricsPort }, 'worker started');
    return worker;
  },
});
