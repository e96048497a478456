import type { Logger } from '@owc/observability';
import type { OrderStore } from '@owc/order-store';
import { type JobPayload, stepBack } from '@owc/queues';
import { type Job, UnrecoverableError } from 'bullmq';
import { lazyChild } from '../lazy-child.js';
import { loggedFailure } from '../queues/worker-errors.js';
import type { TimelineWriter } from '../timeline-writer.js';
import type { CallbackDelivery } from './callback-delivery.js';
import { DeadLetteredError } from './dead-lettered-error.js';

export interface CallbackDeps {
  store: OrderStore;
  /** one delivery: sent, classified, counted and recorded (shared with the dispense job's first) */
  delivery: CallbackDelivery;
  logger: Logger;
  /** the order's timeline and the job's log (optional: tests may leave it out) */
  timeline?: TimelineWriter;
}

export type CallbackJobResult = { outcome: 'reported'; attempt: number } | { outcome: 'already-reported' };

/**
 * The `order.callback` job: delivers the order's stored final result (the same payload every
 * time, invariant 6) until owitho answers 200, then marks the order reported. It carries on the
 * schedule after the dispense job's own first delivery (the payload's `deliveriesBefore`), or
 * makes every delivery (CALLBACK_FIRST_DELIVERY=job, the stuck-order sweep, replays). A
 * retryable or token-rejected answer throws, and BullMQ retries after the schedule's next delay
 * (the Worker's backoffStrategy); a permanent answer or the end of the schedule dead-letters:
 * the order is marked dead and the job stays in the failed set until `callback:replay`.
 */
export class CallbackHandler {
  constructor(private readonly deps: CallbackDeps) {}

  readonly handle = async (
    payload: JobPayload<'order.callback'>,
    job: Job,
    token?: string,
  ): Promise<CallbackJobResult> => {
    const { store, delivery } = this.deps;
    const { orderViewId } = payload;
    const log = lazyChild(this.deps.logger, { queue: 'callback', jobId: job.id, orderViewId });
    // the state and the final result: all a delivery needs (one HMGET)
    const record = await store.finalResult(orderViewId);
    if (!record) throw new UnrecoverableError(`order ${orderViewId} is not in the order store`);
    // a replay (pnpm cli callback:replay) delivers again what owitho was already told
    if (record.state === 'reported' && !payload.replay) return { outcome: 'already-reported' };
    if (!record.result) throw new UnrecoverableError(`order ${orderViewId} is not final (${record.state})`);

    // a job added without the catalog's options (no backoff) follows the schedule by hand,
    // counting deliveries in the store (moveToDelayed burns no BullMQ attempt); a catalog job
    // counts its BullMQ attempts after the deliveries made before it existed
    const byHand = !job.opts.backoff;
    const attempt = byHand
      ? record.callback.attempts + 1
      : (payload.deliveriesBefore ?? 0) + job.attemptsMade + 1;
    // the schedule ends delivery; the job's attempts (the catalog's ceiling) only if lower
    const last = delivery.isLast(attempt) || (!byHand && job.attemptsMade + 1 >= (job.opts.attempts ?? 1));
    const end = await delivery.deliver(
      { orderViewId, result: record.result, acceptedAt: record.acceptedAt },
      attempt,
      last,
      (event) => this.deps.timeline?.record(job, orderViewId, event),
      log,
    );
    if (end.end === 'reported') return { outcome: 'reported', attempt };
    if (end.end === 'dead') throw new DeadLetteredError(end.reason);
    if (byHand) {
      const delay = delivery.delayAfter(attempt);
      log.warn({ attempt, delayMs: delay, error: end.error }, 'callback not delivered: retrying');
      return stepBack(job, token, delay, end.error);
    }
    log.warn({ attempt, error: end.error }, 'callback not delivered: retrying on schedule');
    throw loggedFailure(new Error(end.error));
  };
}
