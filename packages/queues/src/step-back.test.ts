import { deferred, redisTest, waitFor } from '@owc/testing';
import { type Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect } from 'vitest';
import { createConsumer } from './consumer.js';
import { createProducer, type Producer } from './producer.js';
import { stepBack } from './step-back.js';

const LATER_MS = 60_000;

describe('stepBack', () => {
  redisTest(
    'moves the job to delayed for the given time, burns no attempt, and it runs again',
    async ({ redis, prefix }) => {
      const queue = new Queue('step-back', { connection: redis, prefix });
      const seenWhileDelayed: string[] = [];
      let runs = 0;
      const worker = new Worker(
        'step-back',
        async (job: Job, token?: string) => {
          runs += 1;
          if (runs === 1)
            return stepBack(job, token, LATER_MS, 'not yet', async () => {
              seenWhileDelayed.push(await queue.getJobState(String(job.id)));
            });
          return 'done';
        },
        { connection: redis, prefix },
      );
      try {
        const { id } = await queue.add('j', {}, { attempts: 1 });
        const jobId = String(id);
        await waitFor(async () => (await queue.getJobState(jobId)) === 'delayed', {
          what: 'the job delayed',
        });
        expect(seenWhileDelayed).toEqual(['delayed']);
        const delayed = await queue.getJob(jobId);
        expect(delayed?.attemptsMade).toBe(0);
        expect(delayed?.failedReason).toBeUndefined();
        // the delay BullMQ stored is ours, less the moment between our clock read and its own
        expect(delayed?.delay).toBeGreaterThan(LATER_MS - 5_000);
        expect(delayed?.delay).toBeLessThanOrEqual(LATER_MS);

        // with attempts: 1, only a step back that burnt no attempt can run a second time
        await delayed?.promote();
        await waitFor(async () => (await queue.getJobState(jobId)) === 'completed', {
          what: 'the job completed',
        });
        expect(runs).toBe(2);
        expect((await queue.getJob(jobId))?.returnvalue).toBe('done');
      } finally {
        await worker.close();
        await queue.close();
      }
    },
  );

  redisTest('refuses without the lock token, before moving anything', async ({ redis, prefix }) => {
    const queue = new Queue('step-back', { connection: redis, prefix });
    let afterMove = false;
    const worker = new Worker(
      'step-back',
      async (job: Job) =>
        stepBack(job, undefined, LATER_MS, 'not yet', async () => {
          afterMove = true;
        }),
      { connection: redis, prefix },
    );
    try {
      const { id } = await queue.add('j', {}, { attempts: 1 });
      const jobId = String(id);
      await waitFor(async () => (await queue.getJobState(jobId)) === 'failed', { what: 'the job failed' });
      const failed = await queue.getJob(jobId);
      expect(failed?.failedReason).toMatch(/cannot step back \(not yet\) without its lock token/);
      expect(failed?.delay).toBe(0);
      expect(afterMove).toBe(false);
    } finally {
      await worker.close();
      await queue.close();
    }
  });
});

/**
 * Enqueues the sentinel (its handler keeps it active, so BullMQ renews its lock round after
 * round: `sentinel.renewalRounds` counts those rounds), then O1, the job under test; O1's id.
 */
async function enqueueSentinelThenO1(
  producer: Producer,
  worker: Worker,
  sentinel: { renewalRounds: number },
): Promise<string> {
  const { id: sentinelId } = await producer.enqueue('order.dispense', {
    orderViewId: 'sentinel',
    machineCode: 'M1',
  });
  worker.on('locksRenewed', ({ jobIds }) => {
    if (jobIds.includes(String(sentinelId))) sentinel.renewalRounds += 1;
  });
  const { id } = await producer.enqueue('order.dispense', { orderViewId: 'O1', machineCode: 'M1' });
  return String(id);
}

describe('stepBack under a consumer', () => {
  redisTest(
    'the lock of a job that stepped back is not renewed any more (no "could not renew lock")',
    async ({ redisUrl, prefix }) => {
      const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
      const producer = createProducer(connection, { keyPrefix: prefix });
      const errors: Error[] = [];
      const failedRenewals: string[] = [];
      const sentinel = { renewalRounds: 0 };
      const sentinelDone = deferred();
      const watchedAfterMove = deferred();
      // BullMQ's renewal timer runs every lockDuration / 4 (100 ms here)
      const worker: Worker = createConsumer(
        'dispense',
        {
          'order.dispense': async (payload, job, token) => {
            // the sentinel stays active, its lock renewed round after round
            if (payload.orderViewId === 'sentinel') return sentinelDone.promise;
            // renewed once: this job is in BullMQ's renewal rounds
            await new Promise<void>((renewed) => {
              const seen = ({ jobIds }: { jobIds: string[] }) => {
                if (!jobIds.includes(String(job.id))) return;
                worker.off('locksRenewed', seen);
                renewed();
              };
              worker.on('locksRenewed', seen);
            });
            return stepBack(job, token, LATER_MS, 'later', async () => {
              // still in the handler after the move: three renewal rounds of the sentinel, in
              // which BullMQ would renew this job's lock too if it were still renewing it
              const since = sentinel.renewalRounds;
              await waitFor(() => sentinel.renewalRounds >= since + 3 || failedRenewals.length > 0, {
                what: 'three renewal rounds after the step back',
              });
              watchedAfterMove.resolve();
            });
          },
        },
        { connection, keyPrefix: prefix, concurrency: 2, lockDuration: 400 },
      );
      worker.on('error', (error) => errors.push(error));
      worker.on('lockRenewalFailed', (jobIds) => failedRenewals.push(...jobIds));
      try {
        const id = await enqueueSentinelThenO1(producer, worker, sentinel);
        await watchedAfterMove.promise;
        expect(await producer.queue('dispense').getJobState(id)).toBe('delayed');
        expect(failedRenewals).toEqual([]);
        expect(errors.map((e) => e.message)).toEqual([]);
      } finally {
        sentinelDone.resolve();
        await worker.close();
        await producer.close();
        connection.disconnect();
      }
    },
  );

  redisTest(
    'a job fetched again while its previous run is still returning keeps its lock renewed',
    async ({ redisUrl, prefix }) => {
      const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
      const producer = createProducer(connection, { keyPrefix: prefix });
      const sentinel = { renewalRounds: 0 };
      const sentinelDone = deferred();
      let runs = 0;
      let secondStarted = false;
      let secondRenewals = 0;
      const watchedSecond = deferred();
      const worker: Worker = createConsumer(
        'dispense',
        {
          'order.dispense': async (payload, job, token) => {
            if (payload.orderViewId === 'sentinel') return sentinelDone.promise;
            runs += 1;
            // the first run steps back at once and is still returning when the second starts
            if (runs === 1)
              return stepBack(job, token, 0, 'again', async () => {
                await waitFor(() => secondStarted, { what: 'the second run started' });
              });
            secondStarted = true;
            const renewed = ({ jobIds }: { jobIds: string[] }) => {
              if (jobIds.includes(String(job.id))) secondRenewals += 1;
            };
            worker.on('locksRenewed', renewed);
            // six renewal rounds of the sentinel: this run's lock is renewed in them too
            const since = sentinel.renewalRounds;
            await waitFor(() => sentinel.renewalRounds >= since + 6, { what: 'six renewal rounds' });
            worker.off('locksRenewed', renewed);
            watchedSecond.resolve();
            return 'done';
          },
        },
        { connection, keyPrefix: prefix, concurrency: 3, lockDuration: 400 },
      );
      const errors: Error[] = [];
      worker.on('error', (error) => errors.push(error));
      try {
        const id = await enqueueSentinelThenO1(producer, worker, sentinel);
        await watchedSecond.promise;
        expect(runs).toBe(2);
        expect(secondRenewals).toBeGreaterThan(0);
        await waitFor(async () => (await producer.queue('dispense').getJobState(id)) === 'completed', {
          what: 'the job completed',
        });
        expect(errors.map((e) => e.message)).toEqual([]);
      } finally {
        sentinelDone.resolve();
        await worker.close();
        await producer.close();
        connection.disconnect();
      }
    },
  );
});
