import { setTimeout as sleep } from 'node:timers/promises';
import {
  GatewayProtocolError,
  GatewayRejectedError,
  GatewayTimeoutError,
  GatewayUnavailableError,
  type MachineGateway,
  UnknownMachineError,
  type VendAnswer,
} from '@owc/gateway';
import type { Logger } from '@owc/observability';
import type { UnitResult, UnitState } from '@owc/order-store';
import type { OrderUnit } from '@owc/protocol';
import type { LeaseHold } from '@owc/redis';
import type { DispenseMetrics } from './dispense-metrics.js';
import type { UnitLedger } from './order-run.js';

/** Failures that say nothing dropped and the machine may recover: retried within the budget. */
export const TRANSIENT_REASONS = new Set(['machine_offline', 'machine_fault', 'gateway_unavailable']);

export interface UnitVenderSettings {
  /** sends of one unit (attempts marked) before a transient failure is final */
  retryBudget: number;
  /** delays between questions about a vend whose outcome is not known yet; the last repeats */
  resolveBackoffMs: readonly number[];
  /** how long to wait before a unit that failed transiently is sent again */
  retryDelayMs: number;
  /** how long the gateway may stay unanswerable while we ask, before the job steps back */
  resolveGiveUpMs: number;
  /**
   * how long the machine's lease must stay ours once a vend leaves (longer than the vend
   * timeout): a lease taken or renewed recently enough is not renewed again before the vend (no
   * round trip); undefined: renewed before every vend
   */
  leaseKeptMs?: number;
}

export interface VendTarget {
  orderViewId: string;
  machineCode: string;
  /** undefined when the order names no container (the machine's only container) */
  containerCode?: string | undefined;
}

export type UnitOutcome =
  /** the unit has its result (recorded now or earlier) */
  | { kind: 'done'; result: UnitResult }
  /** nothing dropped, the machine or gateway is away: come back after `delayMs` */
  | { kind: 'retry-later'; reason: string; delayMs: number }
  /** the lease is no longer ours: stop touching the machine */
  | { kind: 'lease-lost' };

type Known =
  | { kind: 'answer'; answer: VendAnswer }
  | { kind: 'unknown' }
  | { kind: 'unresolved'; reason: string };

export interface UnitVenderDeps {
  gateway: MachineGateway;
  settings: UnitVenderSettings;
  metrics: DispenseMetrics;
}

/**
 * Settles one unit while its machine's lease is held, so that it drops at most once
 * (docs/order-lifecycle.md invariant 3):
 * - a unit already marked `attempted` may have been sent: ask the gateway first, and send
 *   only when it says it never received the vend;
 * - `attempted` is written before every send, and the lease confirmed (renewed) right before
 *   the request leaves, so the lease outlives the request (TTL > vend timeout);
 * - a send that times out (or whose answer is garbled) is resolved by asking, with backoff,
 *   never by sending again; `pending` keeps asking;
 * - machine offline/fault and an unreachable gateway are retried later until the unit's
 *   attempts reach the budget; every other failure is final for the unit. A send with no
 *   answer at all (unreachable) is asked about before its unit is settled failed, and a run
 *   that finds a unit `attempted` asks first: so a gateway that cannot even be asked leaves the
 *   unit waiting (`attempted`), never failed, until it answers.
 */
export class UnitVender {
  constructor(private readonly deps: UnitVenderDeps) {}

  async settle(
    target: VendTarget,
    unit: OrderUnit,
    current: UnitState | undefined,
    lease: LeaseHold,
    log: Logger,
    /** where the unit's states are written (the run's OrderRun) */
    ledger: UnitLedger,
  ): Promise<UnitOutcome> {
    if (current && current.s !== 'attempted') return { kind: 'done', result: current };
    const { settings } = this.deps;
    let attempts = current?.n ?? 0;
    // a unit marked attempted may be on its way or dropped: ask before anything else
    let phase: 'ask' | 'send' = current ? 'ask' : 'send';
    let lastTransient: string | undefined;

    for (;;) {
      let answer: VendAnswer;
      let fromSend = false;
      if (phase === 'ask') {
        if (!lease.held) return { kind: 'lease-lost' };
        const known = await this.askUntilKnown(unit.vendId, lease, log);
        if (known.kind === 'unresolved') {
          return known.reason === 'lease_lost'
            ? { kind: 'lease-lost' }
            : this.retryLater(known.reason, log, unit);
        }
        if (known.kind === 'unknown') {
          log.info({ vendId: unit.vendId }, 'gateway never received the vend: sending it');
          phase = 'send';
          continue;
        }
        answer = known.answer;
      } else {
        if (attempts >= settings.retryBudget) {
          return this.record(
            ledger,
            unit,
            { status: 'failed', reason: lastTransient ?? 'retry_budget_exhausted' },
            log,
          );
        }
        // attempted is written and the lease renewed (checked to be ours) in the same round trip,
        // both before the request leaves (a lease taken or renewed within the last
        // ttl - leaseKeptMs is ours for longer than the vend can take: no renewal); a failed renewal leaves the unit attempted, unsent,
        // which the next run resolves by asking (the gateway says it never got it)
        const [marked, renewed] = await Promise.all([
          ledger.markAttempted(unit.index),
          settings.leaseKeptMs === undefined ? lease.renew() : lease.ensure(settings.leaseKeptMs),
        ]);
        if (marked.s !== 'attempted') return { kind: 'done', result: marked };
        attempts = marked.n;
        if (!renewed) return { kind: 'lease-lost' };
        const sent = await this.send(target, unit, log);
        if (sent.kind === 'ask') {
          phase = 'ask';
          continue;
        }
        if (sent.kind === 'final')
          return this.record(ledger, unit, { status: 'failed', reason: sent.reason }, log);
        if (sent.kind === 'transient') {
          // a send that got no answer may still have reached the gateway (a connection reset
          // after the request was written, a proxy's 502/504): before the last attempt's unit is
          // settled failed, ask; the gateway's `unknown` brings us back here with the budget spent
          lastTransient = sent.reason;
          if (attempts >= settings.retryBudget) {
            phase = 'ask';
            continue;
          }
          return this.retryLater(sent.reason, log, unit);
        }
        answer = sent.answer;
        fromSend = true;
        if (answer.status === 'pending') {
          phase = 'ask';
          continue;
        }
      }

      if (answer.status === 'success') return this.record(ledger, unit, { status: 'success' }, log);
      const reason = answer.reason ?? 'failed';
      if (!TRANSIENT_REASONS.has(reason)) return this.record(ledger, unit, { status: 'failed', reason }, log);
      lastTransient = reason;
      if (attempts >= settings.retryBudget)
        return this.record(ledger, unit, { status: 'failed', reason }, log);
      // the gateway's answer to an earlier send was a transient failure: nothing dropped, send again
      // now; a transient failure of our own send waits VEND_RETRY_DELAY_MS first
      if (fromSend) return this.retryLater(reason, log, unit);
      phase = 'send';
    }
  }

  private async send(
    target: VendTarget,
    unit: OrderUnit,
    log: Logger,
  ): Promise<
    | { kind: 'answer'; answer: VendAnswer }
    | { kind: 'ask' }
    | { kind: 'final'; reason: string }
    | { kind: 'transient'; reason: string }
  > {
    const { gateway, metrics } = this.deps;
    const stopTimer = metrics.vendSeconds.startTimer();
    const answered = (result: string): void => {
      stopTimer({ result });
      metrics.machineVends.inc({ machine: metrics.machine(target.machineCode), result });
    };
    try {
      const answer = await gateway.vend(target.machineCode, {
        vendId: unit.vendId,
        containerCode: target.containerCode,
        slotNum: unit.slotNum,
        skuCode: unit.skuCode,
      });
      answered(answer.status);
      return { kind: 'answer', answer };
    } catch (error) {
      if (error instanceof GatewayTimeoutError || error instanceof GatewayProtocolError) {
        // the unit may have dropped: only the gateway can say
        answered(error instanceof GatewayTimeoutError ? 'timeout' : 'protocol_error');
        log.warn({ vendId: unit.vendId, err: error }, 'vend answer not usable: asking the gateway');
        return { kind: 'ask' };
      }
      if (error instanceof UnknownMachineError) {
        answered('rejected');
        return { kind: 'final', reason: 'unknown_machine' };
      }
      if (error instanceof GatewayRejectedError) {
        answered('rejected');
        log.error({ vendId: unit.vendId, field: error.field, err: error }, 'gateway rejected the vend');
        return { kind: 'final', reason: 'rejected' };
      }
      if (error instanceof GatewayUnavailableError) {
        answered('unavailable');
        return { kind: 'transient', reason: 'gateway_unavailable' };
      }
      answered('error');
      throw error;
    }
  }

  /** Asks about a vend until the gateway knows its outcome (success/failed) or says it never got it. */
  private async askUntilKnown(vendId: string, lease: LeaseHold, log: Logger): Promise<Known> {
    const { gateway, settings } = this.deps;
    const backoff = settings.resolveBackoffMs.length > 0 ? settings.resolveBackoffMs : [500];
    let errorsSince: number | undefined;
    for (let i = 0; ; i++) {
      try {
        const answer = await gateway.getVend(vendId);
        errorsSince = undefined;
        if (answer === undefined) return { kind: 'unknown' };
        if (answer.status !== 'pending') return { kind: 'answer', answer };
      } catch (error) {
        if (
          !(error instanceof GatewayTimeoutError) &&
          !(error instanceof GatewayUnavailableError) &&
          !(error instanceof GatewayProtocolError)
        )
          throw error;
        errorsSince ??= Date.now();
        log.warn({ vendId, err: error }, 'could not ask the gateway about a vend');
        if (Date.now() - errorsSince >= settings.resolveGiveUpMs) {
          return { kind: 'unresolved', reason: 'gateway_unavailable' };
        }
      }
      if (!lease.held) return { kind: 'unresolved', reason: 'lease_lost' };
      await sleep(backoff[Math.min(i, backoff.length - 1)] ?? 500);
    }
  }

  private retryLater(reason: string, log: Logger, unit: OrderUnit): UnitOutcome {
    this.deps.metrics.unitRetries.inc({ reason });
    log.warn({ vendId: unit.vendId, reason, delayMs: this.deps.settings.retryDelayMs }, 'unit retried later');
    return { kind: 'retry-later', reason, delayMs: this.deps.settings.retryDelayMs };
  }

  private async record(
    ledger: UnitLedger,
    unit: OrderUnit,
    result: { status: 'success' } | { status: 'failed'; reason: string },
    log: Logger,
  ): Promise<UnitOutcome> {
    const stored = await ledger.recordUnitResult(unit.index, result);
    const reason = stored.s === 'failed' ? stored.reason : '';
    this.deps.metrics.units.inc({ result: stored.s, reason });
    log.debug({ vendId: unit.vendId, result: stored.s, reason: reason || undefined }, 'unit result');
    return { kind: 'done', result: stored };
  }
}
