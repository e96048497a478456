import type { Logger } from '@owc/observability';
import type { CallOutcome } from '@owc/owitho-client';
import type { Sku } from '@owc/protocol';
import { abortableSleep, backoffMs } from './abortable-sleep.js';
import type { BatchEntry, SkuBuffer, TakenBatch } from './sku-buffer.js';
import type { SyncMetrics } from './sync-metrics.js';

export interface SkuFlusherOptions {
  buffer: SkuBuffer;
  /** sends one batch (owitho.syncSkus in production) */
  send: (skus: Sku[]) => Promise<CallOutcome>;
  /** SKU_BATCH_SIZE */
  batchSize: number;
  /** SKU_BATCH_MAX_WAIT_MS */
  maxWaitMs: number;
  /** how long a taken batch is ours: longer than one send can take */
  leaseMs: number;
  /** changes queued but not yet in the buffer (sku-sync jobs waiting or active); > 0 holds full batches */
  backlog?: () => Promise<number>;
  /** waits for the shared owitho rate limit */
  acquire?: (signal: AbortSignal) => Promise<void>;
  /** a look at the buffer even when nothing woke us (another pod may have died with changes pending); default 5 s */
  sweepMs?: number;
  /** delay before resending a failed batch: base·2^n, capped; defaults 500 ms, 30 s */
  retryBaseMs?: number;
  retryCapMs?: number;
  metrics: SyncMetrics;
  logger: Logger;
}

/**
 * Sends the buffer's batches to owitho, one at a time per pod (pods run in parallel, each with
 * its own batch). Woken by the consumer (`wake()` after new changes), by a timer at the moment
 * the oldest pending change is due or a lease expires, and by a slow sweep; it never polls in a
 * loop. A failed batch is resent as a whole with backoff, newer versions swapped in first.
 */
export class SkuFlusher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private closed = false;
  private readonly abort = new AbortController();
  private readonly sweepMs: number;

  constructor(private readonly options: SkuFlusherOptions) {
    this.sweepMs = options.sweepMs ?? 5000;
  }

  start(): void {
    this.wake();
  }

  /** Looks at the buffer now (or right after the current look). Cheap to call often. */
  wake(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.running = this.run().finally(() => {
      this.running = undefined;
      if (this.again && !this.closed) {
        this.again = false;
        this.wake();
      }
    });
  }

  /** Stops: no new batch is taken; a batch waiting to be resent goes back to pending. */
  async close(): Promise<void> {
    this.closed = true;
    this.abort.abort();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.wake();
      },
      Math.max(0, ms),
    );
    this.timer.unref();
  }

  private async run(): Promise<void> {
    const { buffer, logger } = this.options;
    try {
      while (!this.closed) {
        this.again = false;
        const backlog = this.options.backlog ? await this.options.backlog() : 0;
        const taken = await buffer.take({
          maxBatch: this.options.batchSize,
          maxWaitMs: this.options.maxWaitMs,
          leaseMs: this.options.leaseMs,
          holdFull: backlog > 0,
        });
        if (taken.reclaimed > 0) logger.warn({ batches: taken.reclaimed }, 'expired sku batches taken back');
        if (taken.batch) {
          await this.deliver(taken.batch);
          continue;
        }
        if (this.again) continue;
        // the next moment something can change without a wake-up: a change comes due, a lease expires
        const next = Math.min(taken.dueInMs ?? Infinity, taken.leaseInMs ?? Infinity, this.sweepMs);
        this.schedule(next + (next === taken.leaseInMs ? 5 : 0));
        return;
      }
    } catch (error) {
      logger.error({ err: error }, 'sku flusher: buffer error; trying again');
      this.schedule(1000);
    }
  }

  private async deliver(batch: TakenBatch): Promise<void> {
    const { buffer, logger, metrics } = this.options;
    const log = logger.child({ batchId: batch.id });
    for (let attempt = 0; ; attempt++) {
      const entries = attempt === 0 ? batch.entries : await buffer.renew(batch.id, this.options.leaseMs);
      if (!entries) {
        log.warn('sku batch lease lost before sending: another pod took it back');
        return;
      }
      await this.options.acquire?.(this.abort.signal);
      if (this.closed) {
        await buffer.release(batch.id);
        return;
      }
      const outcome = await this.sendEntries(entries);
      metrics.skuBatches.inc({ outcome: outcome.kind });
      if (outcome.kind === 'ok') {
        const ours = await buffer.ack(batch.id, entries);
        metrics.skusSent.inc(entries.length);
        metrics.skuBatchSize.observe(entries.length);
        log.debug({ skus: entries.length, attempt, ours }, 'sku batch sent');
        return;
      }
      if (outcome.kind === 'permanent') {
        // retrying will not help: keep the batch for inspection, count it, and move on
        const ours = await buffer.deadLetter(batch.id, outcome.reason);
        metrics.skuBatchesDead.inc();
        log.error(
          {
            skus: entries.length,
            skuCodes: entries.map((e) => e.skuCode).slice(0, 20),
            reason: outcome.reason,
            ours,
          },
          'owitho refused a sku batch for good: moved to the dead-letter list',
        );
        return;
      }
      const delay = backoffMs(attempt, this.options.retryBaseMs ?? 500, this.options.retryCapMs ?? 30_000);
      const level = outcome.kind === 'retryable' ? 'warn' : 'error';
      log[level](
        { skus: entries.length, attempt, outcome: outcome.kind, reason: outcome.reason, retryInMs: delay },
        'sku batch not accepted; resending it whole after a backoff',
      );
      if (this.closed) {
        await buffer.release(batch.id);
        return;
      }
      // keep the batch ours through the wait and the next send
      if (!(await buffer.renew(batch.id, delay + this.options.leaseMs))) return;
      await abortableSleep(delay, this.abort.signal);
      if (this.closed) {
        await buffer.release(batch.id);
        return;
      }
    }
  }

  private async sendEntries(entries: readonly BatchEntry[]): Promise<CallOutcome> {
    try {
      return await this.options.send(entries.map((e) => JSON.parse(e.json) as Sku));
    } catch (error) {
      return { kind: 'retryable', reason: `send threw: ${(error as Error).message}` };
    }
  }
}
