import { ConfigError } from '@owc/config';
import { createLogger } from '@owc/observability';
import { OrderStore } from '@owc/order-store';
import { createProducer } from '@owc/queues';
import { closeRedis, createRedis } from '@owc/redis';
import { loadWorkerConfig } from '../config.js';
import { CLI_USAGE, runCliCommand, UsageError } from './cli-commands.js';

/** `pnpm cli <command>`: operator commands over the order store and the queues. */
async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === 'help') {
    console.log(CLI_USAGE);
    return argv.length === 0 ? 2 : 0;
  }
  const config = loadWorkerConfig();
  const logger = createLogger({
    level: config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL,
    name: 'cli',
  });
  const redis = createRedis({ url: config.REDIS_URL, clusterNodes: config.REDIS_CLUSTER_NODES }, 'worker');
  const producer = createProducer(redis, { keyPrefix: config.KEY_PREFIX });
  try {
    return await runCliCommand(
      {
        store: new OrderStore({ redis, keyPrefix: config.KEY_PREFIX, ttlMs: config.ORDER_TTL_MS }),
        producer,
        stuckAfterMs: config.STUCK_ORDER_AFTER_MS,
        callbackScheduleMs: config.CALLBACK_SCHEDULE_MS,
        logger,
        out: (line) => console.log(line),
      },
      argv,
    );
  } finally {
    await producer.close();
    await closeRedis(redis);
  }
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
