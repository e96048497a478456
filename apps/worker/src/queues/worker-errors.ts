import type { Logger } from '@owc/observability';
import { type QueueName, VanishedJobs, vanishedJobOf } from '@owc/queues';
import type { RedisClient } from '@owc/redis';
import type { Worker } from 'bullmq';

/** Vanished job ids remembered per Worker, so each is reported once however often BullMQ repeats it. */
const REMEMBERED_VANISHED = 1000;

/**
 * A Worker's `error` events. One about a job whose hash vanished under it (BullMQ says so once
 * when it cannot complete the job, and again when it cannot fail it either) ends that job: it is
 * cleared from the active list before the stalled checker can bring it back without name or
 * data, and it is logged once as an error. The order behind it is not lost: its record is
 * untouched, and the stuck-order sweep enqueues a new job for an order still open. Every other
 * error is logged as it comes.
 */
export function watchWorkerErrors(
  worker: Worker,
  options: { queue: QueueName; redis: RedisClient; logger: Logger; message: string },
): void {
  const { queue, logger } = options;
  const vanished = new VanishedJobs(options.redis);
  const reported = new Set<string>();
  const forget = async (jobId: string, command: string, error: Error): Promise<void> => {
    const first = !reported.has(jobId);
    if (first) {
      reported.add(jobId);
      // a Set iterates in insertion order: the oldest id goes first
      if (reported.size > REMEMBERED_VANISHED) reported.delete(reported.values().next().value as string);
    }
    try {
      const outcome = await vanished.forget(worker, jobId, 'ended');
      if (first)
        logger.error(
          { queue, jobId, command, outcome, err: error },
          'job vanished under the worker (its hash is gone): ended, removed; an open order is re-enqueued by the stuck-order sweep',
        );
      else logger.debug({ queue, jobId, command, outcome }, 'vanished job reported again by BullMQ');
    } catch (forgetError) {
      logger.error({ queue, jobId, err: forgetError }, 'vanished job could not be cleared away');
    }
  };
  worker.on('error', (error) => {
    const job = vanishedJobOf(error);
    if (job) void forget(job.jobId, job.command, error);
    else logger.error({ queue, err: error }, options.message);
  });
}
