import { flattenOrder, type OrderNotice, type OrderResult } from '@owc/protocol';
import { defineScripts, type RedisClient, type ScriptCall } from '@owc/redis';
import { fingerprint } from './fingerprint.js';
import { indexKeys, orderKeys } from './order-keys.js';
import {
  finalResultOf,
  type OrderRecord,
  type OrderState,
  readRecord,
  resultOf,
  type UnitResult,
  type UnitState,
  unitStateSchema,
} from './order-record.js';
import { ACCEPT, CALLBACK_STATE, FINALIZE, MARK_ATTEMPTED, RECORD_RESULT, REVIVE } from './order-scripts.js';

export interface OrderStoreOptions {
  redis: RedisClient;
  keyPrefix: string;
  /** how long an order is kept (and deduplicated) after acceptance */
  ttlMs: number;
  now?: () => number;
}

export type AcceptOutcome = 'created' | 'duplicate' | 'conflict';

export interface OrderStats {
  accepted: number;
  final: number;
  succeeded: number;
  partial: number;
  failed: number;
  reported: number;
  dead: number;
  duplicates: number;
  conflicts: number;
}

// every script runs over one order's two keys: the record hash and the units hash
const SCRIPTS = {
  owcAccept: { numberOfKeys: 2, lua: ACCEPT },
  owcMarkAttempted: { numberOfKeys: 2, lua: MARK_ATTEMPTED },
  owcRecordResult: { numberOfKeys: 2, lua: RECORD_RESULT },
  owcFinalize: { numberOfKeys: 2, lua: FINALIZE },
  owcCallbackState: { numberOfKeys: 2, lua: CALLBACK_STATE },
  owcRevive: { numberOfKeys: 2, lua: REVIVE },
};
type ScriptName = keyof typeof SCRIPTS;

/**
 * The one place orders live: the ingress, both worker roles and the CLI use it. Every state
 * change is a script over one order's keys, so it is atomic per order on one Redis and on a
 * cluster alike.
 */
export class OrderStore {
  private readonly redis: RedisClient;
  private readonly prefix: string;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly scripts: Record<ScriptName, ScriptCall>;

  constructor(options: OrderStoreOptions) {
    this.redis = options.redis;
    this.prefix = options.keyPrefix;
    this.ttlMs = options.ttlMs;
    this.now = options.now ?? Date.now;
    this.scripts = defineScripts(this.redis, SCRIPTS);
  }

  private script(name: ScriptName, orderViewId: string, ...args: (string | number)[]): Promise<unknown> {
    const keys = orderKeys(this.prefix, orderViewId);
    return this.scripts[name](keys.record, keys.units, ...args);
  }

  /**
   * Creates the record of a first notice; a later notice with the same content is a duplicate,
   * one with different content a conflict. Neither changes the order.
   */
  async accept(notice: OrderNotice): Promise<{ outcome: AcceptOutcome; state: OrderState }> {
    const units = flattenOrder(notice).length;
    const now = this.now();
    const [outcome, state] = (await this.script(
      'owcAccept',
      notice.orderViewId,
      JSON.stringify(notice),
      fingerprint(notice),
      units,
      notice.machineCode,
      now,
      this.ttlMs,
    )) as [AcceptOutcome, OrderState];
    return { outcome, state };
  }

  /** Indexes an accepted order as open and counts it (single-key commands: the index is advisory). */
  async indexAccepted(orderViewId: string, acceptedAt = this.now()): Promise<void> {
    const idx = indexKeys(this.prefix);
    await this.redis.zadd(idx.open, 'NX', acceptedAt, orderViewId);
  }

  async count(field: keyof OrderStats, by = 1): Promise<void> {
    await this.redis.hincrby(indexKeys(this.prefix).stats, field, by);
  }

  async get(orderViewId: string): Promise<OrderRecord | undefined> {
    const keys = orderKeys(this.prefix, orderViewId);
    const [record, units] = await Promise.all([
      this.redis.hgetall(keys.record),
      this.redis.hgetall(keys.units),
    ]);
    return readRecord(orderViewId, record, units);
  }

  /** One unit's recorded state (undefined while pending): a single field read, for hot paths. */
  async unitState(orderViewId: string, index: number): Promise<UnitState | undefined> {
    const raw = await this.redis.hget(orderKeys(this.prefix, orderViewId).units, String(index));
    return raw ? unitStateSchema.parse(JSON.parse(raw)) : undefined;
  }

  /** The order/query answer (outStatus 100 while dispensing); undefined for an unknown order. */
  async queryResult(orderViewId: string): Promise<OrderResult | undefined> {
    const record = await this.get(orderViewId);
    return record ? resultOf(record) : undefined;
  }

  /**
   * Written before a vend request leaves. Returns the unit's state afterwards: `attempted`
   * (with the attempt number) or the result already recorded, which must not be vended again.
   */
  async markAttempted(orderViewId: string, index: number): Promise<UnitState> {
    const raw = await this.script('owcMarkAttempted', orderViewId, index, this.now(), this.ttlMs);
    if (typeof raw !== 'string') throw new Error(`order ${orderViewId} is not in the store`);
    return unitStateSchema.parse(JSON.parse(raw));
  }

  /** Records a unit's result; the first result recorded wins and is returned. */
  async recordUnitResult(
    orderViewId: string,
    index: number,
    result: { status: 'success' } | { status: 'failed'; reason: string },
  ): Promise<UnitResult> {
    const unit: UnitResult =
      result.status === 'success'
        ? { s: 'success', at: this.now() }
        : { s: 'failed', reason: result.reason, at: this.now() };
    const raw = await this.script('owcRecordResult', orderViewId, index, JSON.stringify(unit), this.ttlMs);
    if (typeof raw !== 'string') throw new Error(`order ${orderViewId} is not in the store`);
    return unitStateSchema.parse(JSON.parse(raw)) as UnitResult;
  }

  /**
   * Writes the final result once every unit has one. Returns the stored result (whether this
   * call or an earlier one wrote it) and whether this call did; undefined while incomplete.
   */
  async finalize(
    orderViewId: string,
    /** a record the caller has just read: used when it already has every unit's result (results
     * are write-once, so such a record cannot be stale); otherwise the store is read */
    known?: OrderRecord,
  ): Promise<{ result: OrderResult; finalizedNow: boolean } | undefined> {
    const record = known && (known.result || finalResultOf(known)) ? known : await this.get(orderViewId);
    if (!record) throw new Error(`order ${orderViewId} is not in the store`);
    if (record.result) return { result: record.result, finalizedNow: false };
    const result = finalResultOf(record);
    if (!result) return undefined;
    const [outcome, stored] = (await this.script(
      'owcFinalize',
      orderViewId,
      JSON.stringify(result),
      result.outStatus,
      result.outDetailList.length,
      this.now(),
    )) as [string, string];
    if (outcome === 'incomplete' || outcome === 'missing') return undefined;
    const finalizedNow = outcome === 'final';
    if (finalizedNow) {
      const bucket = result.outStatus === 200 ? 'succeeded' : result.outStatus === 300 ? 'partial' : 'failed';
      await Promise.all([this.count('final'), this.count(bucket)]);
    }
    return { result: JSON.parse(stored) as OrderResult, finalizedNow };
  }

  async recordCallbackAttempt(orderViewId: string, error: string): Promise<void> {
    await this.script('owcCallbackState', orderViewId, this.now(), error.slice(0, 500), 'attempt');
  }

  async markReported(orderViewId: string): Promise<void> {
    const idx = indexKeys(this.prefix);
    const before = await this.get(orderViewId);
    await this.script('owcCallbackState', orderViewId, this.now(), '', 'reported');
    if (before && before.state !== 'reported') {
      await Promise.all([
        this.redis.zrem(idx.open, orderViewId),
        this.redis.zrem(idx.dead, orderViewId),
        this.count('reported'),
      ]);
    }
  }

  async markDead(orderViewId: string, error: string): Promise<void> {
    const state = await this.script('owcCallbackState', orderViewId, this.now(), error.slice(0, 500), 'dead');
    if (state === 'dead') {
      await Promise.all([
        this.redis.zadd(indexKeys(this.prefix).dead, this.now(), orderViewId),
        this.count('dead'),
      ]);
    }
  }

  /** Puts a dead order back to `final` for a replay; false when it was not dead. */
  async revive(orderViewId: string): Promise<boolean> {
    const revived = (await this.script('owcRevive', orderViewId)) === 'final';
    if (revived) await this.redis.zrem(indexKeys(this.prefix).dead, orderViewId);
    return revived;
  }

  /** Orders accepted before `olderThan` (ms epoch) and not yet reported. */
  async openSince(olderThan: number, limit = 1000): Promise<string[]> {
    return this.redis.zrangebyscore(indexKeys(this.prefix).open, '-inf', olderThan, 'LIMIT', 0, limit);
  }

  /** How many orders are dead-lettered now (one ZCARD: cheap enough for every scrape). */
  async deadCount(): Promise<number> {
    return this.redis.zcard(indexKeys(this.prefix).dead);
  }

  async deadOrders(limit = 1000): Promise<string[]> {
    return this.redis.zrange(indexKeys(this.prefix).dead, '0', String(limit - 1));
  }

  async stats(): Promise<OrderStats> {
    const raw = await this.redis.hgetall(indexKeys(this.prefix).stats);
    const n = (k: keyof OrderStats) => Number(raw[k] ?? 0);
    return {
      accepted: n('accepted'),
      final: n('final'),
      succeeded: n('succeeded'),
      partial: n('partial'),
      failed: n('failed'),
      reported: n('reported'),
      dead: n('dead'),
      duplicates: n('duplicates'),
      conflicts: n('conflicts'),
    };
  }
}
