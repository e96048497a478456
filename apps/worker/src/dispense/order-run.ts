import type { OrderStore, UnitOutcomeInput, UnitResult, UnitState } from '@owc/order-store';
import type { OrderResult } from '@owc/protocol';

/** What the unit vender writes about units: `attempted` before a send, the result after. */
export interface UnitLedger {
  /** Marks the unit attempted (before its vend leaves); returns its state afterwards. */
  markAttempted(index: number): Promise<UnitState>;
  /** Records the unit's result (the first recorded result wins). */
  recordUnitResult(index: number, result: UnitOutcomeInput): Promise<UnitResult>;
}

/**
 * One dispense run's writes to one order, with fewer round trips: a unit's result is kept until
 * the next write of the run and travels with it — with the next unit's `attempted` mark (one
 * script) or with the final result (one script). Only the machine's lease holder settles units,
 * so the result it keeps is the one that will be stored; if the process dies before the write,
 * the unit is still `attempted`, and the next run asks the gateway (the crash is the one between
 * "answer received" and "result recorded", which the order path already recovers). Anything that
 * ends the run other than the final write calls `flush()`.
 */
export class OrderRun implements UnitLedger {
  private pending: { index: number; result: UnitOutcomeInput } | undefined;

  constructor(
    private readonly store: OrderStore,
    readonly orderViewId: string,
    private readonly now: () => number = Date.now,
  ) {}

  async markAttempted(index: number): Promise<UnitState> {
    const record = this.take();
    const { marked } = await this.store.step(this.orderViewId, record, index);
    if (!marked) throw new Error(`order ${this.orderViewId}: unit ${index} was not marked`);
    return marked;
  }

  async recordUnitResult(index: number, result: UnitOutcomeInput): Promise<UnitResult> {
    // a result kept earlier goes out now: only one is ever kept
    if (this.pending) await this.flush();
    this.pending = { index, result };
    return result.status === 'success'
      ? { s: 'success', at: this.now() }
      : { s: 'failed', reason: result.reason, at: this.now() };
  }

  /** Writes the kept result, if any (before the run ends any other way than `finalize`). */
  async flush(): Promise<void> {
    const record = this.take();
    if (record) await this.store.step(this.orderViewId, record, undefined);
  }

  /**
   * Records the kept result and writes the final result in one step, built from the results the
   * run knows for every unit; the store is read instead if it disagrees.
   */
  async finalize(
    units: readonly { slotNum: string; skuCode: string }[],
    results: readonly ('success' | 'failed')[],
  ): Promise<{ result: OrderResult; finalizedNow: boolean } | undefined> {
    return this.store.finalizeWith(this.orderViewId, units, results, this.take());
  }

  private take() {
    const record = this.pending;
    this.pending = undefined;
    return record;
  }
}
