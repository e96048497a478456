import { ConfigError } from '@owc/config';
import { createLogger, type Logger } from '@owc/observability';

export interface StartedService {
  /** stops taking work, finishes or releases what is in flight, closes connections */
  close(): Promise<void>;
}

export interface ServiceDefinition<C> {
  name: string;
  /** parses the environment; throws ConfigError on a bad setting */
  loadConfig(): C;
  logLevel(config: C): string;
  start(config: C, logger: Logger): Promise<StartedService>;
}

/**
 * The `main` of every app: settings validated once (a bad one exits 2 naming the variable),
 * one root logger (pretty only on a TTY), start, and on SIGTERM/SIGINT a single clean stop
 * that exits 0 (1 when the stop itself fails).
 */
export async function runService<C>(definition: ServiceDefinition<C>): Promise<void> {
  let config: C;
  try {
    config = definition.loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${definition.name}: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger({
    level: definition.logLevel(config),
    name: definition.name,
    pretty: process.stdout.isTTY,
  });
  let service: StartedService;
  try {
    service = await definition.start(config, logger);
  } catch (error) {
    logger.fatal({ err: error }, 'failed to start');
    process.stderr.write(
      `${definition.name}: failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(1);
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    service.close().then(
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
