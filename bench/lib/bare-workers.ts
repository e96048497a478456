// Bare BullMQ consumers, in their own process, as the baselines of the system benchmarks:
//   bare-workers.ts <prefix> chain <concurrency1> <concurrency2>
//     stage1 (no-op, then adds one stage2 job carrying the root's timestamp) → stage2 (no-op)
//   bare-workers.ts <prefix> idle <queue...> [--concurrency=N]
//     one no-op Worker per queue (BullMQ's default concurrency 1 unless told)
// Prints {"ready": true} once every Worker is connected; SIGTERM closes them and exits.
import { createRedis } from '@owc/redis';
import { Queue, Worker } from 'bullmq';
import { REDIS_URL } from './system.js';

const [prefix, mode, ...rest] = process.argv.slice(2);
if (!prefix || (mode !== 'chain' && mode !== 'idle')) {
  process.stderr.write('usage: bare-workers.ts <prefix> chain <c1> <c2> | idle <queue...>\n');
  process.exit(2);
}

const closers: (() => Promise<void>)[] = [];
const workers: Worker[] = [];
const producer = createRedis({ url: REDIS_URL }, 'worker');
closers.push(async () => {
  producer.disconnect();
});

if (mode === 'chain') {
  const [c1, c2] = rest.map(Number);
  const stage2 = new Queue('stage2', { connection: producer, prefix: `${prefix}:{bare}` });
  closers.unshift(() => stage2.close());
  workers.push(
    new Worker(
      'stage1',
      async (job) => {
        await stage2.add('next', { t0: job.timestamp }, { removeOnComplete: false });
      },
      {
        connection: createRedis({ url: REDIS_URL }, 'worker'),
        prefix: `${prefix}:{bare}`,
        concurrency: c1 ?? 16,
      },
    ),
    new Worker('stage2', async () => undefined, {
      connection: createRedis({ url: REDIS_URL }, 'worker'),
      prefix: `${prefix}:{bare}`,
      concurrency: c2 ?? 32,
    }),
  );
} else {
  const flag = rest.find((a) => a.startsWith('--concurrency='));
  const concurrency = flag ? Number(flag.slice('--concurrency='.length)) : 1;
  for (const name of rest.filter((a) => !a.startsWith('--'))) {
    workers.push(
      new Worker(name, async () => undefined, {
        connection: createRedis({ url: REDIS_URL }, 'worker'),
        prefix: `${prefix}:{${name}}`,
        concurrency,
      }),
    );
  }
}
for (const worker of workers) {
  worker.on('error', (error) => process.stderr.write(`bare worker error: ${error.message}\n`));
  closers.unshift(() => worker.close());
}
await Promise.all(workers.map((w) => w.waitUntilReady()));

process.once('SIGTERM', () => {
  void (async () => {
    for (const close of closers) await close().catch(() => undefined);
    process.exit(0);
  })();
});
process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid })}\n`);
