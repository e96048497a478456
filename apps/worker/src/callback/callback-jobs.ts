import { callbackJobId, jobCatalog, type Producer, parseJobPayload } from '@owc/queues';

/** The backoff type our callback jobs carry; the callback Worker's backoffStrategy serves it. */
export const CALLBACK_BACKOFF_TYPE = 'callback-schedule';

/**
 * Delay before delivery attempt `attemptsMade + 1`: the schedule's entry (its last one once
 * the schedule is shorter), spread by ±jitter.
 */
export function callbackDelayMs(
  schedule: readonly number[],
  jitter: number,
  attemptsMade: number,
  random: () => number = Math.random,
): number {
  const base = schedule[Math.min(Math.max(attemptsMade, 1), schedule.length) - 1] ?? 1000;
  const spread = 1 + jitter * (2 * random() - 1);
  return Math.max(0, Math.round(base * spread));
}

/**
 * The callback Worker's `settings.backoffStrategy`: BullMQ calls it with the attempts made so
 * far (the failed one included), so the delay before delivery k+1 is the schedule's entry k.
 */
export function callbackBackoffStrategy(
  schedule: readonly number[],
  jitter: number,
): (attemptsMade: number) => number {
  return (attemptsMade) => callbackDelayMs(schedule, jitter, attemptsMade);
}

/**
 * Adds an order's callback job: attempts = one first delivery + one per schedule entry, the
 * custom backoff that follows the schedule, and failed jobs kept (they are the dead letters).
 * With the same jobId while the job exists, BullMQ adds nothing.
 */
export async function enqueueCallback(
  producer: Producer,
  orderViewId: string,
  schedule: readonly number[],
  jobId = callbackJobId(orderViewId),
  options: { replay?: boolean } = {},
): Promise<{ id: string }> {
  const data = parseJobPayload(
    'order.callback',
    options.replay ? { orderViewId, replay: true } : { orderViewId },
  );
  const job = await producer.queue('callback').add('order.callback', data, {
    jobId,
    attempts: schedule.length + 1,
    backoff: { type: CALLBACK_BACKOFF_TYPE },
    removeOnComplete: jobCatalog['order.callback'].defaults.removeOnComplete,
    removeOnFail: false,
  });
  return { id: String(job.id) };
}
