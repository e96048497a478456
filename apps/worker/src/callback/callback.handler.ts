import type { Logger } from '@owc/observability';
import type { OrderStore } from '@owc/order-store';
import type { OrderResult } from '@owc/protocol';
import type { JobPayload } from '@owc/queues';
import { DelayedError, type Job, UnrecoverableError } from 'bullmq';
import { callbackDelayMs } from './callback-jobs.js';
import type { CallbackMetrics } from './callback-metrics.js';

/** What the owitho client answers for one delivery (@owc/owitho-client CallOutcome). */
export type CallbackOutcome =
  | { kind: 'ok' }
  | { kind: 'retryable'; reason: string }
  | { kind: 'token-rejected'; reason: string }
  | { kind: 'permanent'; reason: string };

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
    const log = this.deps.logger.child({ queue: 'callback', jobId: job.id, orderViewId });
    const record = await store.get(orderViewId);
    if (!record) throw new UnrecoverableError(`order ${orderViewId} is not in the order store`);
    if (record.state === 'reported') return { outcome: 'already-reported' };
    if (!record.result) throw new UnrecoverableError(`order ${orderViewId} is not final (${record.state})`);

    const attempt = job.attemptsMade + 1;
    let outcome: CallbackOutcome;
    try {
      outcome = await this.deps.owitho.sendOrderCallback(record.result);
    } catch (error) {
      outcome = { kind: 'retryable', reason: error instanceof Error ? error.message : String(error) };
    }
    metrics.attempts.inc({ outcome: outcome.kind });

    if (outcome.kind === 'ok') {
      await store.markReported(orderViewId);
      log.info({ attempt, outStatus: record.result.outStatus }, 'callback delivered');
      return { outcome: 'reported', attempt };
    }

    const error = `${outcome.kind}: ${outcome.reason}`;
    await store.recordCallbackAttempt(orderViewId, error);
    if (outcome.kind === 'permanent') {
      await store.markDead(orderViewId, error);
      metrics.dead.inc({ why: 'permanent' });
      log.error({ attempt, reason: outcome.reason }, 'callback refused for good: dead-lettered');
      throw new UnrecoverableError(`callback refused: ${outcome.reason}`);
    }

    if (!job.opts.backoff) {
      // a job another system added with the catalog's defaults: follow the schedule by hand,
      // counting deliveries in the store (moveToDelayed burns no BullMQ attempt)
      const made = record.callback.attempts + 1;
      if (made > this.deps.scheduleMs.length) return this.dead(orderViewId, made, error, log);
      if (!token) throw new Error('a callback job needs its lock token to step back');
      const delay = callbackDelayMs(this.deps.scheduleMs, this.deps.jitter, made);
      log.warn({ attempt: made, delayMs: delay, reason: outcome.reason }, 'callback not delivered: retrying');
      await job.moveToDelayed(Date.now() + delay, token);
      throw new DelayedError(error);
    }
    if (attempt >= (job.opts.attempts ?? 1)) return this.dead(orderViewId, attempt, error, log);
    log.warn({ attempt, reason: outcome.reason }, 'callback not delivered: retrying on schedule');
    throw new Error(error);
  };

  private async dead(orderViewId: string, attempts: number, error: string, log: Logger): Promise<never> {
    await this.deps.store.markDead(orderViewId, error);
    this.deps.metrics.dead.inc({ why: 'schedule_exhausted' });
    log.error({ attempts, error }, 'callback schedule exhausted: dead-lettered');
    throw new UnrecoverableError(`callback undelivered after ${attempts} attempts: ${error}`);
  }
}
