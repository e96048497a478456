import { callbackJobId, jobCatalog, type Producer } from '@owc/queues';

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

/** Deliveries made before a callback job existed (its payload's `deliveriesBefore`; 0 when none or unreadable). */
export function deliveriesBefore(job: { data?: unknown } | undefined): number {
  const payload = jobCatalog['order.callback'].schema.safeParse(job?.data);
  return payload.success ? (payload.data.deliveriesBefore ?? 0) : 0;
}

/**
 * The callback Worker's `settings.backoffStrategy`, serving the catalog's CALLBACK_BACKOFF:
 * BullMQ calls it with the attempts made so far (the failed one included) and the job, so the
 * delay before delivery k+1 is the schedule's entry k, counting the deliveries made before the
 * job existed (the dispense job's first).
 */
export function callbackBackoffStrategy(
  schedule: readonly number[],
  jitter: number,
): (attemptsMade: number, type?: string, err?: Error, job?: { data?: unknown }) => number {
  return (attemptsMade, _type, _err, job) =>
    callbackDelayMs(schedule, jitter, attemptsMade + deliveriesBefore(job));
}

/**
 * Adds an order's callback job with the catalog's options (the named backoff, failed jobs kept
 * as the dead letters). With the same jobId while the job exists, BullMQ adds nothing. A job
 * that carries on after the dispense job's own delivery says how many were made
 * (`deliveriesBefore`) and waits the schedule's delay before the next.
 */
export async function enqueueCallback(
  producer: Producer,
  orderViewId: string,
  jobId = callbackJobId(orderViewId),
  options: { replay?: boolean; deliveriesBefore?: number; delayMs?: number } = {},
): Promise<{ id: string }> {
  return producer.enqueue(
    'order.callback',
    {
      orderViewId,
      ...(options.replay ? { replay: true as const } : {}),
      ...(options.deliveriesBefore ? { deliveriesBefore: options.deliveriesBefore } : {}),
    },
    { jobId, ...(options.delayMs ? { delay: options.delayMs } : {}) },
  );
}
