import { startTracing } from '@owc/observability';
import { runService } from '@owc/service';
import { loadWorkerConfig } from './config.js';
import { runWorker } from './run-worker.js';

await runService({
  name: 'worker',
  loadConfig: () => loadWorkerConfig(),
  logLevel: (config) => config.LOG_LEVEL,
  start: async (config, logger) => {
    const tracing = await startTracing({
      serviceName: 'owc-worker',
      endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
    });
    const worker = await runWorker(config, logger, tracing);
    logger.info({ roles: config.WORKER_ROLES, metricsPort: worker.metricsPort }, 'worker started');
    return {
      async close() {
        await worker.close();
        await tracing?.shutdown();
      },
    };
  },
});
