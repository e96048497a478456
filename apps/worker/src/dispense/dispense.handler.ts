import type { MachineGateway } from '@owc/gateway';
import type { Logger } from '@owc/observability';
import type { OrderRecord, OrderStore } from '@owc/order-store';
import { noticeContainer, type OrderNotice } from '@owc/protocol';
import type { JobPayload, Producer } from '@owc/queues';
import type { LeaseHold, RedisClient } from '@owc/redis';
import { DelayedError, type Job, UnrecoverableError } from 'bullmq';
import { enqueueCallback } from '../callback/callback-jobs.js';
import type { TimelineWriter } from '../timeline-writer.js';
import type { DispenseMetrics } from './dispense-metrics.js';
import { MachineLease } from './machine-lease.js';
import { type UnitOutcome, UnitVender, type UnitVenderSettings } from './unit-vender.js';

export interface DispenseSettings extends UnitVenderSettings {
  keyPrefix: string;
  leaseTtlMs: number;
  /**
   * the longest a job waits (delayed, no attempt burnt) for a busy machine; the job that lets go
   * of the machine wakes the oldest waiter at once, so this is only the safety net
   */
  leaseWaitMs: number;
  /** the callback schedule, for the attempts of the callback job this handler enqueues */
  callbackScheduleMs: readonly number[];
}

export interface DispenseDeps {
  redis: RedisClient;
  store: OrderStore;
  gateway: MachineGateway;
  producer: Producer;
  settings: DispenseSettings;
  metrics: DispenseMetrics;
  logger: Logger;
  /** the order's timeline and the job's log (optional: tests may leave it out) */
  timeline?: TimelineWriter;
  /** aborted on SIGTERM: no new unit starts after it (the job steps back for the next pod) */
  stopping?: AbortSignal;
}

export type DispenseOutcome =
  | { outcome: 'final'; outStatus: number; finalizedNow: boolean }
  | { outcome: 'already-reported' };

/** A unit's vend round in a few words, for the timeline. */
function outcomeText(outcome: UnitOutcome): string {
  switch (outcome.kind) {
    case 'done':
      return outcome.result.s === 'success' ? 'success' : `failed: ${outcome.result.reason}`;
    case 'retry-later':
      return `not settled, retry later: ${outcome.reason}`;
    case 'lease-lost':
      return 'machine lease lost, stepping back';
  }
}

/** Why an order is not dispensed (docs/protocol.md: only payStatus 1 and refundStatus 0 are). */
export function notDispensableReason(
  notice: Pick<OrderNotice, 'payStatus' | 'refundStatus'>,
): string | undefined {
  if (notice.payStatus !== 1) return 'not_paid';
  if (notice.refundStatus !== 0) return 'refunded';
  return undefined;
}

/**
 * The `order.dispense` job (docs/order-lifecycle.md). Resumable at any point: every decision is
 * re-read from the order store, so a retried, stalled or re-enqueued job continues where the
 * last run stopped. One unit at a time under the machine's lease; a job that cannot take the
 * lease is moved back to delayed (DelayedError: no attempt is burnt).
 */
export class DispenseHandler {
  private readonly leases: MachineLease;
  private readonly vender: UnitVender;
  /** machine leases held right now (a vend in flight), so a shutdown can let go of them */
  private readonly held = new Set<LeaseHold>();

  constructor(private readonly deps: DispenseDeps) {
    this.leases = new MachineLease({
      redis: deps.redis,
      keyPrefix: deps.settings.keyPrefix,
      ttlMs: deps.settings.leaseTtlMs,
    });
    this.vender = new UnitVender({
      store: deps.store,
      gateway: deps.gateway,
      settings: deps.settings,
      metrics: deps.metrics,
    });
  }

  readonly handle = async (
    payload: JobPayload<'order.dispense'>,
    job: Job,
    token?: string,
  ): Promise<DispenseOutcome> => {
    const { store } = this.deps;
    const { orderViewId } = payload;
    let log = this.deps.logger.child({
      queue: 'dispense',
      jobId: job.id,
      orderViewId,
      machineCode: payload.machineCode,
    });
    const record = await store.get(orderViewId);
    if (!record) throw new UnrecoverableError(`order ${orderViewId} is not in the order store`);
    if (record.state === 'reported') return { outcome: 'already-reported' };
    if (record.unitStates.size === 0) {
      await this.deps.timeline?.accepted(job, orderViewId, record.machineCode, record.acceptedAt);
    }
    if (record.result) return this.finish(record, log, job);

    const skip = notDispensableReason(record.notice);
    if (skip) {
      for (const unit of record.units) {
        const state = record.unitStates.get(unit.index);
        if (!state || state.s === 'attempted') {
          await store.recordUnitResult(orderViewId, unit.index, { status: 'failed', reason: skip });
        }
      }
      log.info(
        { payStatus: record.notice.payStatus, refundStatus: record.notice.refundStatus, reason: skip },
        'order not dispensable: every unit failed, no machine touched',
      );
      return this.finish(record, log, job);
    }

    const machineCode = record.machineCode;
    if (machineCode !== payload.machineCode) {
      log.warn(
        { storedMachineCode: machineCode },
        'job names another machine than the order: using the order',
      );
      log = log.child({ machineCode });
    }
    const target = { orderViewId, machineCode, containerCode: noticeContainer(record.notice) };

    let usedMachine = false;
    try {
      for (const unit of record.units) {
        const known = record.unitStates.get(unit.index);
        if (known && known.s !== 'attempted') continue;
        // shutting down: no new unit starts; the job goes back to the queue for the next pod
        if (this.deps.stopping?.aborted) {
          return await this.delay(job, token, 0, log, 'shutting down: another pod continues');
        }
        const lease = await this.leases.tryAcquire(machineCode);
        if (!lease) {
          this.deps.metrics.leaseWaits.inc({ machine: this.deps.metrics.machine(machineCode) });
          return await this.waitForMachine(job, token, machineCode, log);
        }
        usedMachine = true;
        this.held.add(lease);
        let outcome: Awaited<ReturnType<UnitVender['settle']>>;
        try {
          // read the unit again under the lease: another run may have settled it meanwhile
          const fresh = await store.unitState(orderViewId, unit.index);
          outcome = await this.vender.settle(target, unit, fresh, lease, log);
          await this.deps.timeline?.record(job, orderViewId, {
            e: 'vend',
            at: Date.now(),
            unit: unit.index,
            vendId: unit.vendId,
            answer: outcomeText(outcome),
          });
        } finally {
          this.held.delete(lease);
          await lease.release();
        }
        if (outcome.kind === 'retry-later')
          return await this.delay(job, token, outcome.delayMs, log, outcome.reason);
        if (outcome.kind === 'lease-lost') {
          log.warn({ vendId: unit.vendId }, 'machine lease lost: stepping back');
          return await this.delay(job, token, this.deps.settings.leaseWaitMs, log, 'lease lost');
        }
      }
    } finally {
      // done with the machine (or stepping back): hand it to the oldest waiting job
      if (usedMachine) await this.wakeNextWaiter(machineCode, log);
    }

    const latest = await store.get(orderViewId);
    if (!latest) throw new UnrecoverableError(`order ${orderViewId} disappeared from the order store`);
    return this.finish(latest, log, job);
  };

  /**
   * Finalises (once, in the store) and makes sure the callback job exists before the dispense
   * job may complete. A crash between the two leaves this job unfinished, so its retry (or
   * stalled-job recovery) comes back here and adds the callback job under the same id.
   */
  private async finish(record: OrderRecord, log: Logger, job?: Job): Promise<DispenseOutcome> {
    const { store, producer, settings, metrics } = this.deps;
    const final = await store.finalize(record.orderViewId, record);
    if (!final) throw new Error(`order ${record.orderViewId} still has units without a result`);
    if (record.state !== 'reported') {
      await enqueueCallback(producer, record.orderViewId, settings.callbackScheduleMs);
    }
    if (final.finalizedNow) {
      metrics.orders.inc({ outStatus: String(final.result.outStatus) });
      log.info({ outStatus: final.result.outStatus }, 'order final; callback enqueued');
      await this.deps.timeline?.record(job, record.orderViewId, {
        e: 'final',
        at: Date.now(),
        outStatus: final.result.outStatus,
      });
    }
    return { outcome: 'final', outStatus: final.result.outStatus, finalizedNow: final.finalizedNow };
  }

  /**
   * Waits for a busy machine without polling: the job goes to delayed (for at most
   * leaseWaitMs, the safety net) and joins the machine's waiters; whoever lets go of the
   * machine promotes the oldest waiter. If the holder let go between our try and our joining,
   * nobody would wake us: so we look once more and wake the next waiter (maybe us) ourselves.
   */
  private async waitForMachine(
    job: Job,
    token: string | undefined,
    machineCode: string,
    log: Logger,
  ): Promise<never> {
    if (!token) throw new Error('a dispense job needs its lock token to step back');
    await job.moveToDelayed(Date.now() + this.deps.settings.leaseWaitMs, token);
    await this.leases.addWaiter(machineCode, String(job.id));
    if (!(await this.leases.isHeld(machineCode))) await this.wakeNextWaiter(machineCode, log);
    log.debug('machine busy: waiting for it to be released');
    throw new DelayedError('machine lease held');
  }

  /** Promotes the oldest job still waiting (delayed) for the machine; skips those that moved on. */
  private async wakeNextWaiter(machineCode: string, log: Logger): Promise<void> {
    const queue = this.deps.producer.queue('dispense');
    for (;;) {
      const jobId = await this.leases.nextWaiter(machineCode);
      if (jobId === undefined) return;
      const waiting = await queue.getJob(jobId);
      if (!waiting) continue;
      try {
        await waiting.promote();
        return;
      } catch {
        // no longer delayed (woken by its safety net, running, or done): try the next one
        log.debug({ waiter: jobId }, 'waiter had moved on');
      }
    }
  }

  /**
   * Shutdown ran out of time with a vend still in flight: lets go of its machine lease so the
   * next pod need not wait for the lease to expire. The unit stays `attempted`; whoever resumes
   * the order asks the gateway what became of it before anything else (never vends it again).
   */
  async releaseLeases(): Promise<number> {
    const holds = [...this.held];
    this.held.clear();
    await Promise.allSettled(holds.map((hold) => hold.release()));
    return holds.length;
  }

  private async delay(
    job: Job,
    token: string | undefined,
    ms: number,
    log: Logger,
    why: string,
  ): Promise<never> {
    if (!token) throw new Error('a dispense job needs its lock token to step back');
    log.debug({ delayMs: ms, why }, 'dispense job delayed');
    await job.moveToDelayed(Date.now() + ms, token);
    throw new DelayedError(why);
  }
}
