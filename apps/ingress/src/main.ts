import { startTracing } from '@owc/observability';
import { runService } from '@owc/service';
import { loadIngressConfig } from './config.js';
import { startIngress } from './server.js';

await runService({
  name: 'ingress',
  loadConfig: () => loadIngressConfig(),
  logLevel: (config) => config.LOG_LEVEL,
  start: async (config, logger) => {
    const tracing = await startTracing({
      serviceName: 'owc-ingress',
      endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
    });
    const ingress = await startIngress(config, logger, { tracing });
    logger.info({ url: ingress.url }, 'ingress listening');
    return {
      async close() {
        await ingress.close();
        await tracing?.shutdown();
      },
    };
  },
});
