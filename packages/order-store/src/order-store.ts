import { type OrderNotice, type OrderResult, orderResultSchema } from '@owc/protocol';
import { defineScripts, type RedisClient, type ScriptCalls } from '@owc/redis';
import { fingerprint } from './fingerprint.js';
import {
  hourLogKey,
  indexKeys,
  machineDayLogKey,
  machineIndexKey,
  orderKeys,
  SEARCH_ENTRY_END,
  SEARCH_LOGS,
} from './order-keys.js';
import { isWrongType, PackedOrderError } from './order-packed.js';
import {
  finalResult,
  finalResultOf,
  type OrderState,
  orderStateSchema,
  type ReportedOrder,
  readPacked,
  readRecord,
  reportedResult,
  resultOf,
  type StoredOrder,
  type UnitResult,
  type UnitState,
  unitStateSchema,
} from './order-record.js';
import { ORDER_SCRIPTS } from './order-scripts.js';

export interface OrderStoreOptions {
  redis: RedisClient;
  keyPrefix: string;
  /** how long an order is kept (and deduplicated) after acceptance */
  ttlMs: number;
  now?: () => number;
}

export type AcceptOutcome = 'created' | 'duplicate' | 'conflict';

/** notices per `accepted-n` call at most (a busier turn makes several calls) */
const MAX_BOOKS_PER_CALL = 256;

interface BookBatch {
  notices: number;
  keys: string[];
  args: (string | number)[];
  /** settles when the batch's call answers */
  done: Promise<void>;
}

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

/** A unit's result as the dispense loop reports it. */
export type UnitOutcomeInput = { status: 'success' } | { status: 'failed'; reason: string };

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
  private readonly scripts: ScriptCalls<typeof ORDER_SCRIPTS>;
  /** the `bookAccepted`s of this turn of the event loop, not sent yet */
  private books: BookBatch | undefined;

  constructor(options: OrderStoreOptions) {
    this.redis = options.redis;
    this.prefix = options.keyPrefix;
    this.ttlMs = options.ttlMs;
    this.now = options.now ?? Date.now;
    this.scripts = defineScripts(this.redis, ORDER_SCRIPTS);
  }

  /** An order's two keys, the first two arguments of every order script. */
  private keys(orderViewId: string): [string, string] {
    const keys = orderKeys(this.prefix, orderViewId);
    return [keys.record, keys.units];
  }

  /** The callback state script's keys (the timeline too: a reported order takes it in). */
  private callbackKeys(orderViewId: string): [string, string, string] {
    const keys = orderKeys(this.prefix, orderViewId);
    return [keys.record, keys.units, keys.timeline];
  }

  /** The indexes and counters in one call (their own hash tag). */
  private bookkeeping(
    what: 'accepted' | 'reported' | 'dead' | 'revived',
    orderViewId: string,
    at: number,
    ...counters: (keyof OrderStats)[]
  ): Promise<unknown> {
    const idx = indexKeys(this.prefix);
    return this.scripts.owcBookkeeping(idx.open, idx.dead, idx.stats, what, orderViewId, at, ...counters);
  }

  /**
   * Creates the record of a first notice; a later notice with the same content is a duplicate,
   * one with different content a conflict. Neither changes the order.
   */
  async accept(notice: OrderNotice): Promise<{ outcome: AcceptOutcome; state: OrderState }> {
    const units = notice.orderDetailList.reduce((n, line) => n + line.quantity, 0);
    const now = this.now();
    const answer = await this.scripts.owcAccept(
      ...this.keys(notice.orderViewId),
      JSON.stringify(notice),
      fingerprint(notice),
      units,
      notice.machineCode,
      now,
      this.ttlMs,
    );
    return { outcome: answer.outcome, state: orderStateSchema.parse(answer.state) };
  }

  /**
   * The ingress's bookkeeping of a notice (advisory; its own hash tag, so it goes out beside the
   * dispense job): indexes an order on its way as open and for the console's search (the log of
   * its hour and of its machine's day: SEARCH_LOGS) when `index`, and counts the notice by its
   * outcome. The notices booked in one turn of the event loop share one call (`accepted-n`),
   * sent once the turn's promise callbacks have run; each caller's promise settles with it.
   */
  bookAccepted(
    notice: Pick<OrderNotice, 'orderViewId' | 'machineCode'>,
    outcome: AcceptOutcome,
    index: boolean,
    acceptedAt = this.now(),
  ): Promise<void> {
    let batch = this.books;
    if (!batch || batch.notices === MAX_BOOKS_PER_CALL) {
      batch = this.newBookBatch();
      this.books = batch;
    }
    batch.notices++;
    const counter: keyof OrderStats =
      outcome === 'created' ? 'accepted' : outcome === 'duplicate' ? 'duplicates' : 'conflicts';
    const { hour: hourLog, machineDay } = SEARCH_LOGS;
    const hour = Math.floor(acceptedAt / hourLog.ms);
    const day = Math.floor(acceptedAt / machineDay.ms);
    const offset = (acceptedAt % hourLog.ms).toString(36).padStart(hourLog.offsetWidth, '0');
    batch.keys.push(
      hourLogKey(this.prefix, hour),
      machineDayLogKey(this.prefix, day, notice.machineCode),
      hourLogKey(this.prefix, hour - 1),
      machineDayLogKey(this.prefix, day - 1, notice.machineCode),
      machineIndexKey(this.prefix, notice.machineCode),
    );
    batch.args.push(
      notice.orderViewId,
      acceptedAt,
      index ? '1' : '',
      counter,
      `${offset}${notice.orderViewId}${SEARCH_ENTRY_END}`,
      (hour - day * 24).toString(36),
      (hour + 1) * hourLog.ms + this.ttlMs,
      (day + 1) * machineDay.ms + this.ttlMs,
    );
    return batch.done;
  }

  /** A batch of `bookAccepted`s, sent on the next tick (after the current promise callbacks). */
  private newBookBatch(): BookBatch {
    const idx = indexKeys(this.prefix);
    let settle: { resolve(): void; reject(error: unknown): void } = { resolve() {}, reject() {} };
    const done = new Promise<void>((resolve, reject) => {
      settle = { resolve, reject };
    });
    const batch: BookBatch = { notices: 0, keys: [idx.open, idx.stats, idx.byTime], args: [], done };
    process.nextTick(() => {
      if (this.books === batch) this.books = undefined;
      this.scripts
        .owcAccepted(batch.keys.length, ...batch.keys, this.now() - this.ttlMs, ...batch.args)
        .then(() => settle.resolve(), settle.reject);
    });
    return batch;
  }

  /**
   * Indexes an accepted order as open, and adds 1 to each named counter, in one call (the index
   * and the counters are advisory).
   */
  async indexAccepted(
    orderViewId: string,
    acceptedAt = this.now(),
    ...counters: (keyof OrderStats)[]
  ): Promise<void> {
    await this.bookkeeping('accepted', orderViewId, acceptedAt, ...counters);
  }

  async count(field: keyof OrderStats, by = 1): Promise<void> {
    await this.redis.hincrby(indexKeys(this.prefix).stats, field, by);
  }

  /** The order in the shape it is kept: whole while on its way, shrunk once reported. */
  /**
   * `get` for the views that list orders (the console, the CLI): a record that cannot be read is
   * returned as the PackedOrderError that says why, so the view shows it and goes on; any other
   * error is thrown.
   */
  async tryGet(orderViewId: string): Promise<StoredOrder | undefined | PackedOrderError> {
    try {
      return await this.get(orderViewId);
    } catch (error) {
      if (error instanceof PackedOrderError) return error;
      throw error;
    }
  }

  async get(orderViewId: string): Promise<StoredOrder | undefined> {
    const keys = orderKeys(this.prefix, orderViewId);
    // both hashes in one round trip (same hash tag: same node on a cluster), sent as two commands
    // rather than a Pipeline: the connection's coalesced writes put them in one socket write
    // with the turn's other commands, and no Pipeline object is built per read
    const [record, units] = await Promise.all([
      hashOrWrongType(this.redis.hgetall(keys.record)),
      hashOrWrongType(this.redis.hgetall(keys.units)),
    ]);
    // a reported order is one packed string (a second read, for reported orders only)
    if (!record) return this.packed(orderViewId);
    return readRecord(orderViewId, record, units ?? {});
  }

  /** A reported order kept packed (one string); undefined when the record is not one. */
  private async packed(orderViewId: string): Promise<ReportedOrder | undefined> {
    const value = await this.redis.get(orderKeys(this.prefix, orderViewId).record);
    return value === null ? undefined : readPacked(orderViewId, value);
  }

  /**
   * What a callback delivery needs, in one HMGET: the state, when it was accepted, the final
   * result (undefined while not final) and the deliveries counted so far; undefined for an unknown order.
   */
  async finalResult(
    orderViewId: string,
  ): Promise<
    | { state: OrderState; acceptedAt: number; result?: OrderResult; callback: { attempts: number } }
    | undefined
  > {
    const fields = await this.redis
      .hmget(
        orderKeys(this.prefix, orderViewId).record,
        'state',
        'result',
        'callbackAttempts',
        'acceptedAt',
        'lines',
      )
      .catch((error: unknown) => {
        if (isWrongType(error)) return undefined;
        throw error;
      });
    if (!fields) {
      // reported and packed
      const packed = await this.packed(orderViewId);
      return packed && { ...packed, callback: { attempts: packed.callback.attempts } };
    }
    const [state, result, attempts, acceptedAt, lines] = fields;
    if (!state) return undefined;
    return {
      state: orderStateSchema.parse(state),
      acceptedAt: Number(acceptedAt),
      result: result
        ? orderResultSchema.parse(JSON.parse(result))
        : lines
          ? reportedResult(orderViewId, lines)
          : undefined,
      callback: { attempts: Number(attempts ?? 0) },
    };
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
    const { marked } = await this.step(orderViewId, undefined, index);
    return marked as UnitState;
  }

  /** Records a unit's result; the first result recorded wins and is returned. */
  async recordUnitResult(orderViewId: string, index: number, result: UnitOutcomeInput): Promise<UnitResult> {
    const { recorded } = await this.step(orderViewId, { index, result }, undefined);
    return recorded as UnitResult;
  }

  /**
   * One step of the dispense loop in one round trip: records the result of the unit just settled
   * (first result wins) and marks the next unit attempted before its vend leaves. Returns what
   * is stored afterwards for each (undefined where nothing was asked).
   */
  async step(
    orderViewId: string,
    record: { index: number; result: UnitOutcomeInput } | undefined,
    markIndex: number | undefined,
  ): Promise<{ recorded?: UnitResult; marked?: UnitState }> {
    const answer = await this.scripts.owcStep(
      ...this.keys(orderViewId),
      this.now(),
      this.ttlMs,
      record ? record.index : '',
      record ? JSON.stringify(this.unitResult(record.result)) : '',
      markIndex ?? '',
    );
    if (!answer) throw new Error(`order ${orderViewId} is not in the store`);
    if (answer.recorded === 'reported') {
      // reported and packed: every unit has its result, nothing was written
      const packed = await this.packed(orderViewId);
      if (!packed) throw new Error(`order ${orderViewId} is not in the store`);
      const stored = (index: number | undefined) =>
        index === undefined ? undefined : (packed.unitStates.get(index) as UnitResult | undefined);
      return { recorded: stored(record?.index), marked: stored(markIndex) };
    }
    return {
      recorded: answer.recorded
        ? (unitStateSchema.parse(JSON.parse(answer.recorded)) as UnitResult)
        : undefined,
      marked: answer.marked ? unitStateSchema.parse(JSON.parse(answer.marked)) : undefined,
    };
  }

  private unitResult(result: UnitOutcomeInput): UnitResult {
    return result.status === 'success'
      ? { s: 'success', at: this.now() }
      : { s: 'failed', reason: result.reason, at: this.now() };
  }

  /**
   * Writes the final result once every unit has one. Returns the stored result (whether this
   * call or an earlier one wrote it) and whether this call did; undefined while incomplete.
   */
  async finalize(
    orderViewId: string,
    /** a record the caller has just read: used when it already has every unit's result (results
     * are write-once, so such a record cannot be stale); otherwise the store is read */
    known?: StoredOrder,
  ): Promise<{ result: OrderResult; finalizedNow: boolean } | undefined> {
    const record = known && (known.result || finalResultOf(known)) ? known : await this.get(orderViewId);
    if (!record) throw new Error(`order ${orderViewId} is not in the store`);
    if (record.result) return { result: record.result, finalizedNow: false };
    const result = finalResultOf(record);
    if (!result) return undefined;
    const written = await this.writeFinal(orderViewId, result, undefined);
    if (written !== 'mismatch') return written;
    if (record !== known)
      throw new Error(`order ${orderViewId}: the stored unit results changed while finalising`);
    return this.finalize(orderViewId);
  }

  /**
   * Records the last unit's result and writes the final result in one round trip, when the caller
   * knows every unit's result (it settled them under the machine's lease). The result is built from
   * those; the script checks them against the store and, if the store says otherwise (or a unit is
   * still open), nothing is written and the store is read instead (`finalize`).
   */
  async finalizeWith(
    orderViewId: string,
    units: readonly { slotNum: string; skuCode: string }[],
    results: readonly ('success' | 'failed')[],
    last: { index: number; result: UnitOutcomeInput } | undefined,
  ): Promise<{ result: OrderResult; finalizedNow: boolean } | undefined> {
    const statuses = results.map((r) => (r === 'success' ? 200 : 400) as 200 | 400);
    const result = finalResult(orderViewId, units, statuses);
    const written = await this.writeFinal(orderViewId, result, last);
    if (written !== 'mismatch') return written;
    return this.finalize(orderViewId);
  }

  private async writeFinal(
    orderViewId: string,
    result: OrderResult,
    last: { index: number; result: UnitOutcomeInput } | undefined,
  ): Promise<{ result: OrderResult; finalizedNow: boolean } | undefined | 'mismatch'> {
    const expected = result.outDetailList.map((d) => (d.status === 200 ? 'S' : 'F')).join('');
    const answer = await this.scripts.owcFinalize(
      ...this.keys(orderViewId),
      this.now(),
      this.ttlMs,
      last ? last.index : '',
      last ? JSON.stringify(this.unitResult(last.result)) : '',
      JSON.stringify(result),
      result.outStatus,
      expected,
    );
    if (answer.outcome === 'incomplete' || answer.outcome === 'missing') return undefined;
    if (answer.outcome === 'mismatch') return 'mismatch';
    if (answer.outcome === 'reported') {
      // reported: its `lines` (a hash of the previous layout), or packed (read here)
      const result = answer.result
        ? reportedResult(orderViewId, answer.result)
        : (await this.packed(orderViewId))?.result;
      return result && { result, finalizedNow: false };
    }
    const finalizedNow = answer.outcome === 'final';
    if (finalizedNow) {
      const bucket = result.outStatus === 200 ? 'succeeded' : result.outStatus === 300 ? 'partial' : 'failed';
      // one counter, no index: the outStatus bucket (`final` is their sum, see stats())
      await this.redis.hincrby(indexKeys(this.prefix).stats, bucket, 1);
    }
    // written now: the result this call sent (not parsed back); written earlier: the stored one
    return {
      result: finalizedNow ? result : orderResultSchema.parse(JSON.parse(answer.result)),
      finalizedNow,
    };
  }

  async recordCallbackAttempt(orderViewId: string, error: string): Promise<void> {
    await this.scripts.owcCallbackState(
      ...this.callbackKeys(orderViewId),
      this.now(),
      error.slice(0, 500),
      'attempt',
      orderViewId,
    );
  }

  /**
   * Marks the order reported (and packs it). `events` are timeline events not written yet
   * (`OrderTimeline.encode`), packed with the list's own (the newest `maxEvents` kept); answers
   * whether they were taken: not when the order was reported already (the caller appends them).
   */
  async markReported(orderViewId: string, events: readonly string[] = [], maxEvents = 0): Promise<boolean> {
    const states = await this.scripts.owcCallbackState(
      ...this.callbackKeys(orderViewId),
      this.now(),
      '',
      'reported',
      orderViewId,
      maxEvents,
      ...events,
    );
    if (states && states.before !== 'reported') {
      // a dead letter once (dead now, or revived for a replay): out of the dead index too, in the
      // script; otherwise the open index and the counter, two commands in one write
      if (states.everDead) await this.bookkeeping('reported', orderViewId, 0, 'reported');
      else {
        const idx = indexKeys(this.prefix);
        await Promise.all([
          this.redis.zrem(idx.open, orderViewId),
          this.redis.hincrby(idx.stats, 'reported', 1),
        ]);
      }
    }
    return states !== undefined && states.before !== 'reported';
  }

  async markDead(orderViewId: string, error: string): Promise<void> {
    const now = this.now();
    const states = await this.scripts.owcCallbackState(
      ...this.callbackKeys(orderViewId),
      now,
      error.slice(0, 500),
      'dead',
      orderViewId,
    );
    if (states && states.after === 'dead' && states.before !== 'dead')
      await this.bookkeeping('dead', orderViewId, now, 'dead');
  }

  /** Puts a dead order back to `final` for a replay; false when it was not dead. */
  async revive(orderViewId: string): Promise<boolean> {
    const revived = await this.scripts.owcRevive(...this.keys(orderViewId));
    if (revived) await this.bookkeeping('revived', orderViewId, 0);
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
      // every final order is counted in one outStatus bucket, once (a `final` field written by
      // earlier releases counted the same orders)
      final: n('succeeded') + n('partial') + n('failed'),
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

/** A hash's fields; undefined when the key holds another type (a packed reported order). */
function hashOrWrongType(
  reply: Promise<Record<string, string>>,
): Promise<Record<string, string> | undefined> {
  return reply.catch((error: unknown) => {
    if (isWrongType(error)) return undefined;
    throw error;
  });
}
