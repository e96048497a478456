import { callbackJobId, type Producer } from '@owc/queues';

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
 * The callback Worker's `settings.backoffStrategy`, serving the catalog's CALLBACK_BACKOFF:
 * BullMQ calls it with the attempts made so far (the failed one included), so the delay before
 * delivery k+1 is the schedule's entry k.
 */
export function callbackBackoffStrategy(
  schedule: readonly number[],
  jitter: number,
): (attemptsMade: number) => number {
  return (attemptsMade) => callbackDelayMs(schedule, jitter, attemptsMade);
}

/**
 * Adds an order's callback job with the catalog's options (the named backoff, failed jobs kept
 * as the dead letters). With the same jobId while the job exists, BullMQ adds nothing.
 */
export async function enqueueCallback(
  producer: Producer,
  orderViewId: string,
  jobId = callbackJobId(orderViewId),
  options: { replay?: boolean } = {},
): Promise<{ id: string }> {
  return producer.enqueue(
    'order.callback',
    options.replay ? { orderViewId, replay: true } : { orderViewId },
    {
      jobId,
    },
  );
}
