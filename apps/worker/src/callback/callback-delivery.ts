import type { Logger } from '@owc/observability';
import type { OrderStore, TimelineEvent } from '@owc/order-store';
import type { OrderResult } from '@owc/protocol';
import { callbackDelayMs } from './callback-jobs.js';
import type { CallbackMetrics } from './callback-metrics.js';

/** What the owitho client answers for one delivery (@owc/owitho-client CallOutcome). */
export type CallbackOutcome =
  | { kind: 'ok' }
  | { kind: 'retryable'; reason: string }
  | { kind: 'token-rejected'; reason: string }
  | { kind: 'permanent'; reason: string; status?: number; code?: number };

export interface CallbackSender {
  sendOrderCallback(result: OrderResult): Promise<CallbackOutcome>;
}

export interface CallbackDeliveryDeps {
  store: OrderStore;
  owitho: CallbackSender;
  /** delays between deliveries; deliveries in all = its length + 1 */
  scheduleMs: readonly number[];
  jitter: number;
  metrics: CallbackMetrics;
}

/** The order a delivery is about: its final result, as stored (the same payload every time). */
export interface DeliveredOrder {
  orderViewId: string;
  result: OrderResult;
  acceptedAt: number;
}

/** How a delivery ended, once recorded in the store. */
export type DeliveryEnd =
  /** owitho answered 200: the order is reported */
  | { end: 'reported' }
  /** not accepted, the delivery counted in the store: the schedule goes on (the caller's part) */
  | { end: 'retry'; error: string }
  /** given up on (refused for good, or the schedule's last delivery): the order is dead, counted, logged */
  | { end: 'dead'; reason: string };

/**
 * One delivery of an order's callback, whoever makes it: the dispense job (the first, with the
 * final result in hand) or the callback job (the ones after, and replays). Sends, classifies
 * owitho's answer, counts it (`owc_callback_attempts_total`, the same series whichever role
 * delivered), writes its timeline event through the caller, and records the end in the store:
 * reported, a failed delivery, or dead. What happens next on `retry` (a job carrying on the
 * schedule, or a BullMQ retry) is the caller's.
 */
export class CallbackDelivery {
  private sending = 0;

  constructor(private readonly deps: CallbackDeliveryDeps) {}

  /** Deliveries of this instance waiting for owitho's answer right now. */
  get inFlight(): number {
    return this.sending;
  }

  /** Whether delivery `delivery` (1 = the first) is the schedule's last. */
  isLast(delivery: number): boolean {
    return delivery > this.deps.scheduleMs.length;
  }

  /** The wait after a failed delivery `delivery` before the next one: the schedule's entry, ±jitter. */
  delayAfter(delivery: number): number {
    return callbackDelayMs(this.deps.scheduleMs, this.deps.jitter, delivery);
  }

  /**
   * Delivers the order's final result once. `attempt` is the delivery's number (1 = the first);
   * `last` ends the schedule with it. `note` writes the delivery's timeline event, before the
   * store hears of the end.
   */
  async deliver(
    order: DeliveredOrder,
    attempt: number,
    last: boolean,
    note: (event: TimelineEvent) => Promise<void> | undefined,
    log: Logger,
    /**
     * when owitho accepted: writes the delivery's event and marks the order reported in one step
     * (the caller's events with the report); without it, `note` and then `markReported`
     */
    reported?: (event: TimelineEvent) => Promise<void>,
  ): Promise<DeliveryEnd> {
    const { store, metrics } = this.deps;
    const { orderViewId, result } = order;
    let outcome: CallbackOutcome;
    this.sending++;
    try {
      outcome = await this.deps.owitho.sendOrderCallback(result);
    } catch (error) {
      outcome = { kind: 'retryable', reason: error instanceof Error ? error.message : String(error) };
    } finally {
      this.sending--;
    }
    metrics.attempts.inc({ outcome: outcome.kind });
    const event: TimelineEvent = {
      e: 'callback',
      at: Date.now(),
      attempt,
      answer: outcome.kind === 'ok' ? 'ok: owitho answered 200' : `${outcome.kind}: ${outcome.reason}`,
    };

    if (outcome.kind === 'ok') {
      if (reported) await reported(event);
      else {
        await note(event);
        await store.markReported(orderViewId);
      }
      metrics.noticeToCallback.observe(
        { outStatus: String(result.outStatus) },
        Math.max(0, Date.now() - order.acceptedAt) / 1000,
      );
      log.info({ attempt, outStatus: result.outStatus }, 'callback delivered');
      return { end: 'reported' };
    }

    await note(event);
    const error = `${outcome.kind}: ${outcome.reason}`;
    await store.recordCallbackAttempt(orderViewId, error);
    if (outcome.kind === 'permanent' && outcome.status !== undefined && outcome.status >= 400)
      return this.refused(order, outcome.status, attempt, log);
    if (outcome.kind === 'permanent') {
      await store.markDead(orderViewId, error);
      metrics.dead.inc({ why: 'permanent' });
      log.error({ attempt, reason: outcome.reason }, 'callback refused for good: dead-lettered');
      return { end: 'dead', reason: `callback refused: ${outcome.reason}` };
    }
    if (last) {
      await store.markDead(orderViewId, error);
      metrics.dead.inc({ why: 'schedule_exhausted' });
      log.error({ attempts: attempt, error }, 'callback schedule exhausted: dead-lettered');
      return { end: 'dead', reason: `callback undelivered after ${attempt} attempts: ${error}` };
    }
    return { end: 'retry', error };
  }

  /**
   * owitho refused the callback request itself at the HTTP level (413 too large, 400, 404…): a
   * problem with what we send, not with the order. Retrying the same payload cannot help, so it
   * is dead-lettered, but loudly and apart from other dead letters: its own metric by status,
   * an error log with the payload's size, and a reason in the store that says what to fix.
   */
  private async refused(
    order: DeliveredOrder,
    status: number,
    attempt: number,
    log: Logger,
  ): Promise<DeliveryEnd> {
    const { orderViewId, result } = order;
    const payloadBytes = Buffer.byteLength(JSON.stringify(result));
    const units = result.outDetailList.length;
    const what = status === 413 ? 'too large for owitho' : 'refused by owitho';
    const reason = `callback request ${what} (HTTP ${status}; ${payloadBytes} bytes, ${units} units): fix and replay with \`pnpm cli callback:replay ${orderViewId}\``;
    await this.deps.store.markDead(orderViewId, reason);
    this.deps.metrics.refused.inc({ status: String(status) });
    this.deps.metrics.dead.inc({ why: 'callback_refused' });
    log.error(
      { attempt, status, payloadBytes, units },
      `owitho refused the callback request itself (HTTP ${status}): a problem with the callback, not the order; dead-lettered`,
    );
    return { end: 'dead', reason };
  }
}
