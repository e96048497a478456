import { DelayedError, type Job } from 'bullmq';

/** What stepping back needs of a job: BullMQ's Job, or a handler's narrower view of it. */
export type SteppingJob = Pick<Job, 'id' | 'moveToDelayed'>;

/**
 * Steps a running job back to delayed so it runs again after `delayMs`, without burning a
 * BullMQ attempt: `moveToDelayed` with the job's lock token, then `DelayedError`, which tells
 * the worker the job has already moved. Without the token BullMQ would move a job whose lock
 * another worker may hold by now, so a missing token is refused before anything is written.
 *
 * `whileDelayed` runs after the move and before the throw, for work that must see the job
 * already delayed (joining a machine's waiters, so whoever wakes it finds it there).
 */
export async function stepBack(
  job: SteppingJob,
  token: string | undefined,
  delayMs: number,
  reason: string,
  whileDelayed?: () => Promise<void>,
): Promise<never> {
  if (!token) throw new Error(`job ${job.id} cannot step back (${reason}) without its lock token`);
  await job.moveToDelayed(Date.now() + Math.ceil(delayMs), token);
  if (whileDelayed) await whileDelayed();
  throw new DelayedError(reason);
}
