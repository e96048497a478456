import { Writable } from 'node:stream';
import { createLogger } from '@owc/observability';
import { orderKeys } from '@owc/order-store';
import { callbackJobId, createProducer, dispenseJobId, type QueueName } from '@owc/queues';
import { redisTest, sampleNotice, waitFor } from '@owc/testing';
import { Redis } from 'ioredis';
import { describe, expect } from 'vitest';
import { loadWorkerConfig } from '../config.js';
import { runWorker } from '../run-worker.js';

interface Line {
  level: number;
  msg: string;
  queue?: string;
  jobId?: string;
  attemptsMade?: number;
  err?: { message: string };
}

const WARN = 40;
const ERROR = 50;

/** A worker with the dispense and callback roles whose warnings and errors the test reads. */
async function startRig(redisUrl: string, prefix: string) {
  const lines: Line[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line) as Line);
      done();
    },
  });
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const producer = createProducer(redis, { keyPrefix: prefix });
  const worker = await runWorker(
    loadWorkerConfig({
      REDIS_URL: redisUrl,
      KEY_PREFIX: prefix,
      WORKER_ROLES: 'dispense,callback',
      WORKER_METRICS_PORT: '-1',
      // nothing answers there, and no token role: a delivery fails retryable
      OWITHO_BASE_URL: 'http://127.0.0.1:9',
      OWITHO_APP_ID: 'app-failed-jobs',
      OWITHO_SECRET_KEY: 'secret-failed-jobs',
      TOKEN_WAIT_MS: '50',
      MACHINE_GATEWAY_URL: 'http://127.0.0.1:9',
      CALLBACK_SCHEDULE_MS: '100,100,100',
      CALLBACK_JITTER: '0',
    }),
    createLogger({ level: 'warn', name: 'worker', destination }),
  );
  return {
    lines,
    redis,
    producer,
    store: worker.context.store,
    async close() {
      await worker.close();
      await producer.close();
      redis.disconnect();
    },
  };
}

describe('every role logs its failed jobs the same way, once', () => {
  redisTest(
    'a dispense and a callback job that fail on a Redis error: a warning per retried attempt, then one error',
    async ({ redisUrl, prefix }) => {
      const { lines, redis, producer, close } = await startRig(redisUrl, prefix);
      try {
        // the order's record is a set, neither a hash nor a string: every read of it is a Redis error
        // (WRONGTYPE)
        const record = orderKeys(prefix, 'BROKEN').record;
        await redis.sadd(record, 'not an order');
        const jobs: [QueueName, string][] = [
          ['dispense', dispenseJobId('BROKEN')],
          ['callback', callbackJobId('BROKEN')],
        ];
        await producer.enqueue(
          'order.dispense',
          { orderViewId: 'BROKEN', machineCode: 'M001' },
          { jobId: dispenseJobId('BROKEN') },
        );
        await producer.enqueue(
          'order.callback',
          { orderViewId: 'BROKEN' },
          { jobId: callbackJobId('BROKEN') },
        );
        const job = (queue: QueueName, jobId: string) => producer.queue(queue).getJob(jobId);
        await waitFor(
          async () => {
            for (const [queue, jobId] of jobs)
              if (((await job(queue, jobId))?.attemptsMade ?? 0) < 1) return false;
            return true;
          },
          { what: 'both jobs failed once' },
        );
        // the record gone, the next attempt fails for good (an order not in the store)
        await redis.del(record);
        await waitFor(
          async () => {
            for (const [queue, jobId] of jobs)
              if ((await job(queue, jobId))?.finishedOn === undefined) return false;
            return true;
          },
          { what: 'both jobs failed for good' },
        );
        await waitFor(() => lines.filter((l) => l.level >= ERROR).length >= 2, { what: 'the final errors' });
        for (const [queue, jobId] of jobs) {
          const attempts = (await job(queue, jobId))?.attemptsMade ?? 0;
          const logged = lines.filter((l) => l.jobId === jobId);
          expect(logged.map((l) => [l.level, l.queue, l.msg])).toEqual([
            ...Array.from({ length: attempts - 1 }, () => [WARN, queue, `${queue} job failed: will retry`]),
            [ERROR, queue, `${queue} job failed for good`],
          ]);
          for (const line of logged.slice(0, -1)) expect(line.err?.message).toMatch(/^WRONGTYPE/);
          expect(logged.at(-1)?.err?.message).toMatch(/is not in the order store/);
        }
        // nothing else was logged: no worker error, no line twice
        expect(lines.filter((l) => l.level >= WARN && l.jobId === undefined)).toEqual([]);
      } finally {
        await close();
      }
    },
    60_000,
  );

  redisTest(
    'a callback the handler logs (retried on schedule, then dead-lettered) is not logged again by the role',
    async ({ redisUrl, prefix }) => {
      const { lines, producer, store, close } = await startRig(redisUrl, prefix);
      try {
        const oneUnit = {
          skuCode: 'COLA',
          slotNum: '01',
          quantity: 1,
          originalPrice: '2.00',
          actualPrice: '2.00',
        };
        await store.accept(sampleNotice('UNDELIVERED', { orderDetailList: [oneUnit] }));
        await store.recordUnitResult('UNDELIVERED', 0, { status: 'success' });
        expect(await store.finalize('UNDELIVERED')).toBeDefined();
        const jobId = callbackJobId('UNDELIVERED');
        await producer.enqueue('order.callback', { orderViewId: 'UNDELIVERED' }, { jobId });
        await waitFor(
          async () => (await producer.queue('callback').getJob(jobId))?.finishedOn !== undefined,
          {
            what: 'the callback dead-lettered',
          },
        );
        await waitFor(() => lines.some((l) => l.level >= ERROR), { what: 'the dead letter logged' });
        expect(lines.map((l) => [l.level, l.jobId, l.msg])).toEqual([
          [WARN, jobId, 'callback not delivered: retrying on schedule'],
          [WARN, jobId, 'callback not delivered: retrying on schedule'],
          [WARN, jobId, 'callback not delivered: retrying on schedule'],
          [ERROR, jobId, 'callback schedule exhausted: dead-lettered'],
        ]);
      } finally {
        await close();
      }
    },
    60_000,
  );
});
