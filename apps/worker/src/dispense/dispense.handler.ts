import type { MachineGateway } from '@owc/gateway';
import type { Logger } from '@owc/observability';
import type { OrderRecord, OrderStore, StoredOrder } from '@owc/order-store';
import { noticeContainer, type OrderNotice, type OrderResult } from '@owc/protocol';
import { callbackJobId, type JobPayload, type Producer, stepBack } from '@owc/queues';
import type { LeaseHold, RedisClient } from '@owc/redis';
import { type Job, UnrecoverableError } from 'bullmq';
import type { CallbackDelivery, DeliveryEnd } from '../callback/callback-delivery.js';
import { enqueueCallback } from '../callback/callback-jobs.js';
import { lazyChild } from '../lazy-child.js';
import { StopRace } from '../stop-race.js';
import type { TimelineRun, TimelineWriter } from '../timeline-writer.js';
import type { DispenseMetrics } from './dispense-metrics.js';
import { MachineLease } from './machine-lease.js';
import { MachineTurns } from './machine-turns.js';
import { OrderRun } from './order-run.js';
import { type UnitOutcome, UnitVender, type UnitVenderSettings } from './unit-vender.js';

export interface DispenseSettings extends UnitVenderSettings {
  keyPrefix: string;
  leaseTtlMs: number;
  /**
   * the longest a job waits (delayed, no attempt burnt) for a machine another pod holds; the job
   * that lets go of the machine wakes the oldest waiter at once, so this is only the safety net
   */
  leaseWaitMs: number;
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
  /**
   * the order's first callback delivery, made by this job once the order is final
   * (CALLBACK_FIRST_DELIVERY=inline), at most `maxInFlight` waiting for owitho at once in this
   * pod (so a slow or hung owitho holds that many jobs); beyond that, and without it, the callback
   * job makes the delivery
   */
  firstDelivery?: { delivery: CallbackDelivery; maxInFlight: number };
  /**
   * aborted on SIGTERM: no new unit starts after it, jobs waiting in this pod for a machine stop
   * waiting (each steps back for the next pod), and a first callback delivery in flight is left
   * to the callback job
   */
  stopping?: AbortSignal;
}

/** What finishing an order reads of it (read once, when the job started). */
type FinalizingOrder = Pick<StoredOrder, 'orderViewId' | 'state' | 'acceptedAt' | 'callback'>;

/** What became of the order's callback in this run. */
export type CallbackStep =
  /** owitho accepted this job's delivery: the order is reported */
  | 'delivered'
  /** the callback job exists and carries on (after this job's delivery, or makes the first) */
  | 'enqueued'
  /** this job's delivery was refused for good: the order is dead (a dead letter, for a person) */
  | 'dead'
  /** nothing to do: the order was already dead */
  | 'none';

export type DispenseOutcome =
  | { outcome: 'final'; outStatus: number; finalizedNow: boolean; callback: CallbackStep }
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
 * last run stopped. One unit at a time under the machine's lease. Jobs of this pod for the
 * same machine wait in-process, in the order they came, and each hands the lease to the next
 * (MachineTurns); a job that cannot take the lease because another pod holds it is moved back
 * to delayed (DelayedError: no attempt is burnt). BullMQ keeps renewing the lock of a job that
 * waits in-process, like that of any job being processed.
 */
export class DispenseHandler {
  private readonly leases: MachineLease;
  private readonly turns: MachineTurns<LeaseHold>;
  private readonly vender: UnitVender;
  /** machine leases held right now (a vend in flight), so a shutdown can let go of them */
  private readonly held = new Set<LeaseHold>();
  private readonly stop: StopRace;

  constructor(private readonly deps: DispenseDeps) {
    this.turns = new MachineTurns(deps.stopping);
    this.stop = new StopRace(deps.stopping);
    this.leases = new MachineLease({
      redis: deps.redis,
      keyPrefix: deps.settings.keyPrefix,
      ttlMs: deps.settings.leaseTtlMs,
    });
    this.vender = new UnitVender({
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
    const { orderViewId } = payload;
    const log = lazyChild(this.deps.logger, {
      queue: 'dispense',
      jobId: job.id,
      orderViewId,
      machineCode: payload.machineCode,
    });
    // The job names the machine: its turn in this pod first, then its lease (handed over by the
    // previous order, or taken), then the order is read once, under the lease (so every unit
    // state read is current). A machine another pod holds costs one SET and a step back.
    let machineCode = payload.machineCode;
    let lease: LeaseHold | undefined = await this.acquire(job, token, machineCode, log);
    // timeline lines (order page, job log): the run's events together when the order is final or
    // the run ends, awaited before the job ends (the ingress indexed the order for search at accept)
    const events = this.deps.timeline?.run(job, orderViewId);
    try {
      const record = await this.deps.store.get(orderViewId);
      if (!record) throw new UnrecoverableError(`order ${orderViewId} is not in the order store`);
      if (record.state === 'reported') return { outcome: 'already-reported' };
      if (record.result)
        return await this.finish(record, log, events, () => this.deps.store.finalize(orderViewId, record));

      const skip = notDispensableReason(record.notice) ?? (await this.containerNotNamed(record, machineCode));
      if (skip) {
        log.info(
          { payStatus: record.notice.payStatus, refundStatus: record.notice.refundStatus, reason: skip },
          'order not dispensable: every unit failed, no machine touched',
        );
        const run = new OrderRun(this.deps.store, orderViewId);
        for (const unit of record.units) {
          const state = record.unitStates.get(unit.index);
          if (!state || state.s === 'attempted')
            await run.recordUnitResult(unit.index, { status: 'failed', reason: skip });
        }
        const results = record.units.map((unit) => {
          const state = record.unitStates.get(unit.index);
          return state?.s === 'success' ? 'success' : 'failed';
        });
        return await this.finish(record, log, events, () => run.finalize(record.units, results));
      }

      if (record.machineCode !== machineCode) {
        log.warn(
          { storedMachineCode: record.machineCode },
          'job names another machine than the order: using the order',
        );
        await this.letGo(lease, machineCode, log);
        lease = undefined;
        machineCode = record.machineCode;
        lease = await this.acquire(job, token, machineCode, log);
      }
      const target = { orderViewId, machineCode, containerCode: noticeContainer(record.notice) };

      // every unit under this one hold; the run carries each result into its next write
      const run = new OrderRun(this.deps.store, orderViewId);
      const results: ('success' | 'failed')[] = [];
      for (const unit of record.units) {
        const known = record.unitStates.get(unit.index);
        if (known && known.s !== 'attempted') {
          results.push(known.s);
          continue;
        }
        // shutting down: no new unit starts; the job goes back to the queue for the next pod
        if (this.deps.stopping?.aborted) {
          await run.flush();
          return await this.delay(job, token, 0, log, 'shutting down: another pod continues');
        }
        const outcome = await this.vender.settle(target, unit, known, lease, log, run);
        events?.add({
          e: 'vend',
          at: Date.now(),
          unit: unit.index,
          vendId: unit.vendId,
          answer: outcomeText(outcome),
        });
        if (outcome.kind === 'done') {
          results.push(outcome.result.s);
          continue;
        }
        await run.flush();
        if (outcome.kind === 'retry-later')
          return await this.delay(job, token, outcome.delayMs, log, outcome.reason);
        log.warn({ vendId: unit.vendId }, 'machine lease lost: stepping back');
        return await this.delay(job, token, this.deps.settings.leaseWaitMs, log, 'lease lost');
      }
      // the last unit is done: the machine is the next order's while this one is finalised
      const held = lease;
      lease = undefined;
      const [final] = await Promise.all([
        this.finish(record, log, events, () => run.finalize(record.units, results)),
        this.letGo(held, machineCode, log),
      ]);
      return final;
    } finally {
      if (lease) await this.letGo(lease, machineCode, log);
      await events?.flush();
    }
  };

  /**
   * An order that names no container vends from the machine's only container; when the machine
   * has several we never guess which one owitho meant: every unit fails (400) with this reason.
   * Asks the gateway only for such orders (a gateway error fails the attempt: BullMQ retries).
   */
  private async containerNotNamed(record: OrderRecord, machineCode: string): Promise<string | undefined> {
    if (noticeContainer(record.notice) !== undefined) return undefined;
    const containers = await this.deps.gateway.getContainers(record.machineCode || machineCode);
    if (!containers || containers.length <= 1) return undefined;
    return `container_not_named: machine has ${containers.length} containers (${containers
      .map((c) => c.containerCode)
      .join(', ')}) and the order names none`;
  }

  /**
   * Finalises (once, in the store), then sees to the callback before the job may complete
   * (invariant 5): the order reported by this job's own delivery, or its callback job in
   * existence. A crash in between leaves this job unfinished, so its retry (or stalled-job
   * recovery) comes back here, finds the order final and goes to the callback again.
   */
  private async finish(
    record: FinalizingOrder,
    log: Logger,
    events: TimelineRun | undefined,
    finalize: () => Promise<{ result: OrderResult; finalizedNow: boolean } | undefined>,
  ): Promise<DispenseOutcome> {
    const { orderViewId } = record;
    const final = await finalize();
    if (!final) throw new Error(`order ${orderViewId} still has units without a result`);
    const { result, finalizedNow } = final;
    if (finalizedNow) {
      events?.add({ e: 'final', at: Date.now(), outStatus: result.outStatus });
      this.deps.metrics.orders.inc({ outStatus: String(result.outStatus) });
      log.info({ outStatus: result.outStatus }, 'order final');
    }
    const callback = await this.callBack(record, result, log, events);
    return { outcome: 'final', outStatus: result.outStatus, finalizedNow, callback };
  }

  /**
   * The final order's first callback delivery, made here with the result in hand (the machine is
   * already the next order's), unless this pod makes none (no `firstDelivery`), has its most in
   * flight already (a slow or hung owitho then holds that many jobs, never the pod's every slot),
   * or is stopping: then the callback job makes it. A delivery owitho does not accept leaves the callback job to carry
   * on the schedule (`deliveriesBefore`), after the schedule's delay; one refused for good leaves
   * the order dead, like the callback job would. A SIGTERM while owitho holds the delivery hands it
   * to the callback job at once (a second delivery is harmless: each says the same thing).
   */
  private async callBack(
    record: FinalizingOrder,
    result: OrderResult,
    log: Logger,
    events: TimelineRun | undefined,
  ): Promise<CallbackStep> {
    const { orderViewId } = record;
    // a dead letter waits for a person (callback:replay); a reported order returned earlier
    if (record.state === 'dead') return 'none';
    const first = this.deps.firstDelivery;
    if (first && !this.stop.stopping && first.delivery.inFlight < first.maxInFlight) {
      const { delivery } = first;
      // the deliveries counted so far (more than none only when resuming after a crash)
      const attempt = record.callback.attempts + 1;
      const sending = delivery.deliver(
        { orderViewId, result, acceptedAt: record.acceptedAt },
        attempt,
        delivery.isLast(attempt),
        // the run's lines and the delivery's go out in one write, before the store hears of it
        (event) => {
          events?.add(event);
          return events?.flush();
        },
        log,
        // accepted: the run's lines and the delivery's go with the report itself (no list written
        // and read back)
        events &&
          ((event) => {
            events.add(event);
            return events.report((encoded, maxEvents) =>
              this.deps.store.markReported(orderViewId, encoded, maxEvents),
            );
          }),
      );
      const end: DeliveryEnd | undefined = await this.stop.race(sending);
      if (end?.end === 'reported') return 'delivered';
      if (end?.end === 'dead') return 'dead';
      if (end) {
        const delayMs = delivery.delayAfter(attempt);
        await enqueueCallback(this.deps.producer, orderViewId, callbackJobId(orderViewId), {
          deliveriesBefore: attempt,
          delayMs,
        });
        log.warn(
          { attempt, delayMs, error: end.error },
          'callback not delivered: its callback job carries on',
        );
        return 'enqueued';
      }
      log.info('shutting down during the callback delivery: the callback job takes over');
    }
    // the run's lines leave before the callback job exists, so the callback's own line follows them
    const written = events?.flush();
    await enqueueCallback(this.deps.producer, orderViewId);
    await written;
    return 'enqueued';
  }

  /**
   * The machine's lease for this job: waits (in-process) for this pod's turn on the machine,
   * then uses the hold the previous order handed over or takes the lease. Steps back (throws
   * DelayedError) when another pod holds it, or when the pod is shutting down.
   */
  private async acquire(
    job: Job,
    token: string | undefined,
    machineCode: string,
    log: Logger,
  ): Promise<LeaseHold> {
    const turn = await this.turns.wait(machineCode);
    if (turn.kind === 'stopping')
      return this.delay(job, token, 0, log, 'shutting down: another pod continues');
    if (turn.handed?.held) return turn.handed;
    if (turn.handed) this.held.delete(turn.handed); // lost while being handed over
    let lease: LeaseHold | undefined;
    try {
      lease = await this.take(machineCode);
    } catch (error) {
      this.turns.end(machineCode);
      throw error;
    }
    if (lease) return lease;
    this.turns.end(machineCode);
    return this.waitForMachine(job, token, machineCode, log);
  }

  /** Takes the machine's lease (undefined when busy) and remembers it while held. */
  private async take(machineCode: string): Promise<LeaseHold | undefined> {
    const lease = await this.leases.tryAcquire(machineCode);
    if (lease) this.held.add(lease);
    return lease;
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

  /**
   * Done with the machine: the next job of this pod that waits for it gets the lease as it is
   * (no release, no re-take); with none, the lease is released, this pod's turn ends and the
   * oldest job of any pod waiting for the machine (delayed) is woken.
   */
  private async letGo(lease: LeaseHold, machineCode: string, log: Logger): Promise<void> {
    if (lease.held && this.turns.handOver(machineCode, lease)) return;
    this.held.delete(lease);
    let waiter: string | undefined;
    try {
      [, waiter] = await Promise.all([lease.release(), this.leases.nextWaiter(machineCode)]);
    } finally {
      this.turns.end(machineCode);
    }
    if (waiter !== undefined) await this.wake(waiter, machineCode, log);
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
    this.deps.metrics.leaseWaits.inc({ machine: this.deps.metrics.machine(machineCode) });
    return stepBack(job, token, this.deps.settings.leaseWaitMs, 'machine lease held', async () => {
      // joined, then looked (one round trip, in this order on the connection)
      const [, held] = await Promise.all([
        this.leases.addWaiter(machineCode, String(job.id)),
        this.leases.isHeld(machineCode),
      ]);
      if (!held) await this.wakeNextWaiter(machineCode, log);
      log.debug('machine busy: waiting for it to be released');
    });
  }

  /** Promotes the oldest job still waiting (delayed) for the machine; skips those that moved on. */
  private async wakeNextWaiter(machineCode: string, log: Logger): Promise<void> {
    const jobId = await this.leases.nextWaiter(machineCode);
    if (jobId !== undefined) await this.wake(jobId, machineCode, log);
  }

  /** Promotes a waiter popped off the machine's queue; if it had moved on, the next one. */
  private async wake(jobId: string, machineCode: string, log: Logger): Promise<void> {
    const waiting = await this.deps.producer.queue('dispense').getJob(jobId);
    try {
      if (waiting) {
        await waiting.promote();
        return;
      }
    } catch {
      // no longer delayed (woken by its safety net, running, or done)
      log.debug({ waiter: jobId }, 'waiter had moved on');
    }
    await this.wakeNextWaiter(machineCode, log);
  }

  private async delay(
    job: Job,
    token: string | undefined,
    ms: number,
    log: Logger,
    why: string,
  ): Promise<never> {
    log.debug({ delayMs: ms, why }, 'dispense job delayed');
    return stepBack(job, token, ms, why);
  }
}
