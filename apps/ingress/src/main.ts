import { ConfigError } from '@owc/config';
import { createLogger } from '@owc/observability';
import { loadIngressConfig } from './config.js';
import { startIngress } from './server.js';

async function main(): Promise<void> {
  let config: ReturnType<typeof loadIngressConfig>;
  try {
    config = loadIngressConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`ingress: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger({ level: config.LOG_LEVEL, name: 'ingress', pretty: process.stdout.isTTY });
  const ingress = await startIngress(config, logger);
  logger.info({ url: ingress.url }, 'ingress listening');

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping: no new requests, finishing in-flight ones');
    ingress.close().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
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
    `ingress: failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
