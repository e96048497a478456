import { redisTest, waitFor } from '@owc/testing';
import { type Job, Queue, Worker } from 'bullmq';
import { describe, expect } from 'vitest';
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
