import type { Logger } from '@owc/observability';
import { type QueueName, VanishedJobs, vanishedJobOf } from '@owc/queues';
import type { RedisClient } from '@owc/redis';
import { type Job, UnrecoverableError, type Worker } from 'bullmq';

/** Vanished job ids remembered per Worker, so each is reported once however often BullMQ repeats it. */
const REMEMBERED_VANISHED = 1000;

const LOGGED = Symbol('logged by its handler');

/**
 * Marks a job's failure as logged by the handler that throws it (with the details it knows), so
 * the role does not log it a second time. Returns the error, for `throw loggedFailure(…)`.
 */
export function loggedFailure<E extends Error>(error: E): E {
  Object.defineProperty(error, LOGGED, { value: true });
  return error;
}

/**
 * Everything a role logs about its BullMQ Worker, the same way for every role, once each:
 * - a failed job, unless its handler logged the failure itself (`loggedFailure`): a warning
 *   when BullMQ retries it, an error when it failed for good. Whatever the error came from (our
 *   handler, a Redis error in the middle of it, the consumer's own checks), it is logged here;
 * - the Worker's errors (BullMQ's own: a job it could not move, a lock it could not renew, a
 *   connection that failed), see `watchWorkerErrors`.
 */
export function watchWorker(
  worker: Worker,
  options: { queue: QueueName; redis: RedisClient; logger: Logger },
): void {
  const { queue, logger } = options;
  worker.on('failed', (job: Job | undefined, error: Error) => {
    // typed Error, but a library may reject with anything: `in` would throw on a primitive
    if (typeof error === 'object' && error !== null && LOGGED in error) return;
    const final =
      !job ||
      job.attemptsMade >= (job.opts.attempts ?? 1) ||
      error instanceof UnrecoverableError ||
      error?.name === 'UnrecoverableError';
    logger[final ? 'error' : 'warn'](
      {
        queue,
        jobId: job?.id,
        jobName: job?.name,
        orderViewId: job?.data?.orderViewId,
        attemptsMade: job?.attemptsMade,
        err: error,
      },
      final ? `${queue} job failed for good` : `${queue} job failed: will retry`,
    );
  });
  watchWorkerErrors(worker, { ...options, message: `${queue} worker error` });
}

/**
 * A Worker's `error` events. One about a job whose hash vanished under it (BullMQ says so once
 * when it cannot complete the job, and again when it cannot fail it either) ends that job: it is
 * cleared from the active list before the stalled checker can bring it back without name or
 * data, and it is logged once as an error. The order behind it is not lost: its record is
 * untouched, and the stuck-order sweep enqueues a new job for an order still open. Every other
 * error is logged as it comes.
 */
function watchWorkerErrors(
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
