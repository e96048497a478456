import { queuePrefix } from '@owc/queues';
import {
  defineScripts,
  integerResult,
  luaScript,
  type RedisClient,
  type ScriptCalls,
  ScriptResultError,
  stringsResult,
  taggedKey,
} from '@owc/redis';
import { z } from 'zod';

/** The one hash tag of the buffer: the same as the `sku-sync` queue's, so a script may read its id counter. */
const bufferTag = 'sku-sync';

/** One SKU change as the consumer hands it to the buffer. */
export interface SkuChange {
  skuCode: string;
  /** the SKU as validated by the consumer (wire form: money as two-decimal strings) */
  json: string;
}

/** A SKU inside a taken batch: its data and the version that data carries. */
export interface BatchEntry {
  skuCode: string;
  json: string;
  version: number;
}

export interface TakenBatch {
  id: string;
  entries: BatchEntry[];
}

export type TakeResult =
  | { batch: TakenBatch; reclaimed: number }
  | {
      batch?: undefined;
      reclaimed: number;
      /** ms until the oldest takeable change is due; undefined = nothing takeable is pending */
      dueInMs?: number;
      /** ms until the next in-flight lease expires; undefined = no batch in flight */
      leaseInMs?: number;
      /** pending changes (takeable or waiting for an in-flight batch of the same SKU) */
      pending: number;
    };

export interface TakeOptions {
  maxBatch: number;
  maxWaitMs: number;
  /** how long the taker may hold the batch before another pod takes it back */
  leaseMs: number;
  /** do not send a merely full batch now (more changes are queued that may supersede it); age still sends */
  holdFull?: boolean;
}

export interface DeadBatch {
  batchId: string;
  reason: string;
  at: number;
  entries: { skuCode: string; version: number; json: string }[];
}

export interface BufferStats {
  pending: number;
  inFlightBatches: number;
  inFlightSkus: number;
  known: number;
}

const lua = (name: string) => new URL(`../../lua/sku-buffer/${name}`, import.meta.url);

/** Entries in a script's answer: triples skuCode, json, version from `from` on. */
function entriesOf(flat: readonly string[], from: number): BatchEntry[] {
  const entries: BatchEntry[] = [];
  for (let i = from; i + 2 < flat.length; i += 3) {
    const [skuCode, json, version] = flat.slice(i, i + 3) as [string, string, string];
    entries.push({ skuCode, json, version: Number(version) });
  }
  return entries;
}

// The scripts live in apps/worker/lua/sku-buffer/ (each file's header names its KEYS, ARGV and
// answer); the buffer's seven keys come first in every one.
const scripts = {
  owcSkuBufferUpsert: luaScript(lua('upsert-8.lua'), (raw) => {
    const [accepted, version] = stringsResult(raw);
    return { accepted: Number(accepted), version: Number(version) };
  }),
  owcSkuBufferTake: luaScript(lua('take-7.lua'), (raw): TakeResult => {
    const out = stringsResult(raw);
    const reclaimed = Number(out[1]);
    if (out[0] === 'batch') return { batch: { id: String(out[2]), entries: entriesOf(out, 3) }, reclaimed };
    if (out[0] !== 'none') throw new ScriptResultError("'batch' or 'none' first", raw);
    const dueIn = Number(out[2]);
    const leaseIn = Number(out[3]);
    return {
      reclaimed,
      pending: Number(out[4]),
      ...(dueIn >= 0 ? { dueInMs: dueIn } : {}),
      ...(leaseIn >= 0 ? { leaseInMs: leaseIn } : {}),
    };
  }),
  owcSkuBufferRenew: luaScript(lua('renew-7.lua'), (raw) => {
    const out = stringsResult(raw);
    return out.length === 0 ? undefined : entriesOf(out, 0);
  }),
  owcSkuBufferAck: luaScript(lua('ack-7.lua'), integerResult),
  owcSkuBufferRelease: luaScript(lua('release-7.lua'), integerResult),
  owcSkuBufferDead: luaScript(lua('dead-8.lua'), integerResult),
  owcSkuBufferReplay: luaScript(lua('replay-7.lua'), stringsResult),
};

/** How many expired batches one take returns to pending at most (the rest wait for the next take). */
const reclaimPerTake = 16;

/** How many dead-lettered batches the list keeps (the newest). */
const deadLettersKept = 1000;

/** A dead-letter record as the dead script writes it (cjson: versions are strings). */
const deadRecordSchema = z.object({
  batchId: z.string(),
  reason: z.string(),
  at: z.number(),
  skus: z.array(z.object({ skuCode: z.string(), version: z.coerce.number(), sku: z.string() })).catch([]),
});

export interface SkuBufferOptions {
  redis: RedisClient;
  keyPrefix: string;
}

/**
 * The shared pending buffer of SKU changes, in Redis, under one hash tag. Changes coalesce by
 * skuCode (the highest version wins); a taken batch is leased, and only an acknowledgement
 * (owitho answered 200) forgets it — an expired lease puts it back. See docs/sync.md.
 */
export class SkuBuffer {
  private readonly redis: RedisClient;
  private readonly named: { pending: string; queue: string; inFlight: string; leases: string; seen: string };
  /** the seven keys every script takes first, in the order of lua/sku-buffer/includes/buffer-keys.lua */
  private readonly keys: string[];
  private readonly idCounterKey: string;
  private readonly deadKey: string;
  private readonly batchPrefix: string;
  private readonly scripts: ScriptCalls<typeof scripts>;

  constructor(options: SkuBufferOptions) {
    this.redis = options.redis;
    const key = (...parts: string[]) => taggedKey(options.keyPrefix, bufferTag, 'buffer', ...parts);
    this.named = {
      pending: key('pending'),
      queue: key('queue'),
      inFlight: key('in-flight'),
      leases: key('leases'),
      seen: key('seen'),
    };
    const { pending, queue, inFlight, leases, seen } = this.named;
    this.keys = [pending, key('pending-version'), queue, inFlight, leases, seen, key('batch-seq')];
    this.batchPrefix = `${key('batch')}:`;
    this.deadKey = key('dead');
    // BullMQ's job id counter of the sku-sync queue (`<prefix>:<queue>:id`), same hash tag
    this.idCounterKey = `${queuePrefix(options.keyPrefix, 'sku-sync')}:sku-sync:id`;
    this.scripts = defineScripts(this.redis, scripts);
  }

  /**
   * Records the changes of one job, all with the job's version (undefined = the next value of the
   * queue's id counter, i.e. "enqueued now"). Returns how many were newer than what was known.
   */
  async upsert(
    changes: readonly SkuChange[],
    version?: number,
  ): Promise<{ accepted: number; version: number }> {
    const args: string[] = [version === undefined ? '' : String(version)];
    for (const change of changes) args.push(change.skuCode, change.json);
    return this.scripts.owcSkuBufferUpsert(...this.keys, this.idCounterKey, ...args);
  }

  async take(options: TakeOptions): Promise<TakeResult> {
    return this.scripts.owcSkuBufferTake(
      ...this.keys,
      options.maxBatch,
      options.maxWaitMs,
      options.leaseMs,
      options.holdFull ? '1' : '0',
      this.batchPrefix,
      reclaimPerTake,
    );
  }

  /** Extends the lease and swaps in newer versions; undefined when the batch is no longer ours. */
  async renew(batchId: string, leaseMs: number): Promise<BatchEntry[] | undefined> {
    return this.scripts.owcSkuBufferRenew(...this.keys, batchId, this.batchPrefix + batchId, leaseMs);
  }

  /** owitho answered 200 for these entries: forget them. Returns whether the batch was still ours. */
  async ack(batchId: string, entries: readonly BatchEntry[]): Promise<boolean> {
    const args: string[] = [];
    for (const e of entries) args.push(e.skuCode, String(e.version));
    const ours = await this.scripts.owcSkuBufferAck(
      ...this.keys,
      batchId,
      this.batchPrefix + batchId,
      ...args,
    );
    return ours === 1;
  }

  /** Gives a held batch back to pending at once (so another pod need not wait for the lease). */
  async release(batchId: string): Promise<void> {
    await this.scripts.owcSkuBufferRelease(...this.keys, batchId, this.batchPrefix + batchId);
  }

  /**
   * owitho refused the batch for good (a permanent answer): moves it to the dead-letter list (the
   * newest 1,000 kept) and forgets it. Returns whether the batch was still ours.
   */
  async deadLetter(batchId: string, reason: string): Promise<boolean> {
    const record = JSON.stringify({ batchId, reason, at: Date.now() });
    const ours = await this.scripts.owcSkuBufferDead(
      ...this.keys,
      this.deadKey,
      batchId,
      this.batchPrefix + batchId,
      record,
      deadLettersKept,
    );
    return ours === 1;
  }

  /**
   * Puts a dead batch's entries back to pending at the versions they carried, except the SKUs
   * that a newer change has superseded since: a replay never moves a SKU back. A running sync
   * worker sends them (woken by its next look at the buffer).
   */
  async replay(entries: readonly BatchEntry[]): Promise<{ replayed: string[]; skipped: string[] }> {
    const args: string[] = [];
    for (const e of entries) args.push(e.skuCode, e.json, String(e.version));
    const skipped = entries.length === 0 ? [] : await this.scripts.owcSkuBufferReplay(...this.keys, ...args);
    const superseded = new Set(skipped);
    return { replayed: entries.map((e) => e.skuCode).filter((code) => !superseded.has(code)), skipped };
  }

  /** The newest dead-lettered batches (newest first). */
  async deadLetters(count = 100): Promise<DeadBatch[]> {
    const raw = await this.redis.lrange(this.deadKey, 0, count - 1);
    return raw.map((r) => {
      const d = deadRecordSchema.parse(JSON.parse(r));
      return {
        batchId: d.batchId,
        reason: d.reason,
        at: d.at,
        entries: d.skus.map((e) => ({ skuCode: e.skuCode, version: e.version, json: e.sku })),
      };
    });
  }

  async stats(): Promise<BufferStats> {
    const [pending, inFlightBatches, inFlightSkus, known] = await Promise.all([
      this.redis.zcard(this.named.queue),
      this.redis.zcard(this.named.leases),
      this.redis.hlen(this.named.inFlight),
      this.redis.hlen(this.named.seen),
    ]);
    return { pending, inFlightBatches, inFlightSkus, known };
  }
}
