import type { Logger } from '@owc/observability';
import type { OrderStore } from '@owc/order-store';
import type { OrderResult } from '@owc/protocol';
import { type JobPayload, stepBack } from '@owc/queues';
import { type Job, UnrecoverableError } from 'bullmq';
import { lazyChild } from '../lazy-child.js';
import { loggedFailure } from '../queues/worker-errors.js';
import type { TimelineWriter } from '../timeline-writer.js';
import { callbackDelayMs } from './callback-jobs.js';
import type { CallbackMetrics } from './callback-metrics.js';
import { DeadLetteredError } from './dead-lettered-error.js';

/** What the owitho client answers for one delivery (@owc/owitho-client CallOutcome). */
export type CallbackOutcome =
  | { kind: 'ok' }
  | { kind: 'retryable'; reason: string }
  | { kind: 'token-rejected'; reason: string }
  | { kind: 'permanent'; reason: string; status?: number; code?: number };

export interface CallbackSender {
  sendOrderCallback(result: OrderResult): Promise<CallbackOutcome>;
}

export interface CallbackDeps {
  store: OrderStore;
  owitho: CallbackSender;
  /** delays between deliveries; attempts = its length + 1 */
  scheduleMs: readonly number[];
  jitter: number;
  metrics: CallbackMetrics;
  logger: Logger;
  /** the order's timeline and the job's log (optional: tests may leave it out) */
  timeline?: TimelineWriter;
}

export type CallbackJobResult = { outcome: 'reported'; attempt: number } | { outcome: 'already-reported' };

/**
 * The `order.callback` job: delivers the order's stored final result (the same payload every
 * time, invariant 6) until owitho answers 200, then marks the order reported. A retryable or
 * token-rejected answer throws, and BullMQ retries after the schedule's next delay (the
 * Worker's backoffStrategy); a permanent answer or the end of the schedule dead-letters: the
 * order is marked dead and the job stays in the failed set until `callback:replay`.
 */
export class CallbackHandler {
  constructor(private readonly deps: CallbackDeps) {}

  readonly handle = async (
    payload: JobPayload<'order.callback'>,
    job: Job,
    token?: string,
  ): Promise<CallbackJobResult> => {
    const { store, metrics } = this.deps;
    const { orderViewId } = payload;
    const log = lazyChild(this.deps.logger, { queue: 'callback', jobId: job.id, orderViewId });
    // the state and the final result: all a delivery needs (one HMGET)
    const record = await store.finalResult(orderViewId);
    if (!record) throw new UnrecoverableError(`order ${orderViewId} is not in the order store`);
    // a replay (pnpm cli callback:replay) delivers again what owitho was already told
    if (record.state === 'reported' && !payload.replay) return { outcome: 'already-reported' };
    if (!record.result) throw new UnrecoverableError(`order ${orderViewId} is not final (${record.state})`);

    const attempt = job.attemptsMade + 1;
    let outcome: CallbackOutcome;
    try {
      outcome = await this.deps.owitho.sendOrderCallback(record.result);
    } catch (error) {
      outcome = { kind: 'retryable', reason: error instanceof Error ? error.message : String(error) };
    }
    metrics.attempts.inc({ outcome: outcome.kind });
    await this.deps.timeline?.record(job, orderViewId, {
      e: 'callback',
      at: Date.now(),
      attempt,
      answer: outcome.kind === 'ok' ? 'ok: owitho answered 200' : `${outcome.kind}: ${outcome.reason}`,
    });

    if (outcome.kind === 'ok') {
      await store.markReported(orderViewId);
      metrics.noticeToCallback.observe(
        { outStatus: String(record.result.outStatus) },
        Math.max(0, Date.now() - record.acceptedAt) / 1000,
      );
      log.info({ attempt, outStatus: record.result.outStatus }, 'callback delivered');
      return { outcome: 'reported', attempt };
    }

    const error = `${outcome.kind}: ${outcome.reason}`;
    await store.recordCallbackAttempt(orderViewId, error);
    if (outcome.kind === 'permanent' && outcome.status !== undefined && outcome.status >= 400) {
      return this.refused(orderViewId, record.result, outcome.status, attempt, log);
    }
    if (outcome.kind === 'permanent') {
      await store.markDead(orderViewId, error);
      metrics.dead.inc({ why: 'permanent' });
      log.error({ attempt, reason: outcome.reason }, 'callback refused for good: dead-lettered');
      throw new DeadLetteredError(`callback refused: ${outcome.reason}`);
    }

    if (!job.opts.backoff) {
      // a job added without the catalog's options (no backoff): follow the schedule by hand,
      // counting deliveries in the store (moveToDelayed burns no BullMQ attempt)
      const made = record.callback.attempts + 1;
      if (made > this.deps.scheduleMs.length) return this.dead(orderViewId, made, error, log);
      const delay = callbackDelayMs(this.deps.scheduleMs, this.deps.jitter, made);
      log.warn({ attempt: made, delayMs: delay, reason: outcome.reason }, 'callback not delivered: retrying');
      return stepBack(job, token, delay, error);
    }
    // the schedule ends delivery; the job's attempts (the catalog's ceiling) only if lower
    if (attempt > this.deps.scheduleMs.length || attempt >= (job.opts.attempts ?? 1))
      return this.dead(orderViewId, attempt, error, log);
    log.warn({ attempt, reason: outcome.reason }, 'callback not delivered: retrying on schedule');
    throw loggedFailure(new Error(error));
  };

  /**
   * owitho refused the callback request itself at the HTTP level (413 too large, 400, 404…): a
   * problem with what we send, not with the order. Retrying the same payload cannot help, so it
   * is dead-lettered, but loudly and apart from other dead letters: its own metric by status,
   * an error log with the payload's size, and a reason in the store that says what to fix.
   */
  private async refused(
    orderViewId: string,
    result: OrderResult,
    status: number,
    attempt: number,
    log: Logger,
  ): Promise<never> {
    const payloadBytes = Buffer.byteLength(JSON.stringify(result));
    const units = result.outDetailList.length;
    const what = status === 413 ? 'too large for owitho' : 'refused by owitho';
    const error = `callback request ${what} (HTTP ${status}; ${payloadBytes} bytes, ${units} units): fix and replay with \`pnpm cli callback:replay ${orderViewId}\``;
    await this.deps.store.markDead(orderViewId, error);
    this.deps.metrics.refused.inc({ status: String(status) });
    this.deps.metrics.dead.inc({ why: 'callback_refused' });
    log.error(
      { attempt, status, payloadBytes, units },
      `owitho refused the callback request itself (HTTP ${status}): a problem with the callback, not the order; dead-lettered`,
    );
    throw new DeadLetteredError(error);
  }

  private async dead(orderViewId: string, attempts: number, error: string, log: Logger): Promise<never> {
    await this.deps.store.markDead(orderViewId, error);
    this.deps.metrics.dead.inc({ why: 'schedule_exhausted' });
    log.error({ attempts, error }, 'callback schedule exhausted: dead-lettered');
    throw new DeadLetteredError(`callback undelivered after ${attempts} attempts: ${error}`);
  }
}
