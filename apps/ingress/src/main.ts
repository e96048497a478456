import { runService } from '@owc/service';
import { loadIngressConfig } from './config.js';
import { startIngress } from './server.js';

await runService({
  name: 'ingress',
  loadConfig: () => loadIngressConfig(),
  logLevel: (config) => config.LOG_LEVEL,
  start: async (config, logger) => {
    const ingress = await startIngress(config, logger);
    logger.info({ url: ingress.url }, 'ingress listening');
    return ingress;
  },
});
