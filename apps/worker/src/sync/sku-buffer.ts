import { queuePrefix } from '@owc/queues';
import { defineScripts, type RedisClient, type ScriptCall, taggedKey } from '@owc/redis';

/** The one hash tag of the buffer: the same as the `sku-sync` queue's, so a script may read its id counter. */
export const SKU_BUFFER_TAG = 'sku-sync';

/** One SKU change as the consumer hands it to the buffer. */
export interface SkuChange {
  skuCode: string;
  /** the SKU as validated by the consumer (wire form: money as two-decimal strings) */
  json: string;
}

/** A SKU inside a taken batch: its data, the version that data carries, and since when it waits. */
export interface BatchEntry {
  skuCode: string;
  json: string;
  version: number;
  pendingSince: number;
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

// Lua helpers shared by the scripts. Time is Redis's own (TIME), so pods with skewed clocks agree.
const NOW = `
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

// Puts a batch's entries back to pending unless a newer version of the SKU was accepted since
// (then the newer one is pending, or already sent), frees its SKUs and drops the batch.
// keys: pending, pendingVer, queue, inflight, leases, seen
const RETURN_BATCH = `
local function returnBatch(k, bkey, id)
  local flat = redis.call('HGETALL', bkey)
  local back = 0
  for i = 1, #flat, 2 do
    local sku = flat[i]
    local e = cjson.decode(flat[i + 1])
    if redis.call('HGET', k.inflight, sku) == id then redis.call('HDEL', k.inflight, sku) end
    local seen = tonumber(redis.call('HGET', k.seen, sku) or '-1')
    if seen == tonumber(e.v) and redis.call('HEXISTS', k.pending, sku) == 0 then
      redis.call('HSET', k.pending, sku, e.s)
      redis.call('HSET', k.pendingVer, sku, e.v)
      redis.call('ZADD', k.queue, e.t, sku)
      back = back + 1
    elseif redis.call('HEXISTS', k.pending, sku) == 1 then
      -- a newer change waits: it has waited at least since this one did
      redis.call('ZADD', k.queue, 'LT', e.t, sku)
    end
  end
  redis.call('DEL', bkey)
  redis.call('ZREM', k.leases, id)
  return back
end
`;

const KEYS7 = `
local k = { pending = KEYS[1], pendingVer = KEYS[2], queue = KEYS[3], inflight = KEYS[4],
  leases = KEYS[5], seen = KEYS[6], batchSeq = KEYS[7] }
`;

/**
 * KEYS: the 7 buffer keys, then the queue's BullMQ id counter. ARGV[1]: the change's version
 * ('' = take the next value of the id counter), then pairs skuCode, json.
 * A change is accepted when its version is above every version of that SKU accepted before
 * (kept in `seen`, also after sending): a stale or repeated job never moves a SKU back.
 */
const UPSERT = `${NOW}${KEYS7}
local vstr = ARGV[1]
if vstr == '' then vstr = string.format('%.0f', redis.call('INCR', KEYS[8])) end
local version = tonumber(vstr)
local now = nowMs()
local accepted = 0
for i = 2, #ARGV, 2 do
  local sku = ARGV[i]
  local seen = tonumber(redis.call('HGET', k.seen, sku) or '-1')
  if version > seen then
    redis.call('HSET', k.seen, sku, vstr)
    redis.call('HSET', k.pending, sku, ARGV[i + 1])
    redis.call('HSET', k.pendingVer, sku, vstr)
    redis.call('ZADD', k.queue, 'NX', now, sku)
    accepted = accepted + 1
  end
end
return {accepted, vstr}
`;

/**
 * KEYS: the 7 buffer keys. ARGV: maxBatch, maxWaitMs, leaseMs, holdFull (0/1), batch key prefix,
 * reclaim limit. First returns expired in-flight batches to pending, then takes up to maxBatch of
 * the oldest pending SKUs that have no batch in flight (so one SKU is never in two requests at
 * once) when the batch is full (and not held) or its oldest change has waited maxWaitMs.
 * Returns {id, reclaimed, sku, json, version, since, ...} or {0, reclaimed, dueIn, leaseIn, pending}
 * (-1 = none).
 */
const TAKE = `${NOW}${KEYS7}${RETURN_BATCH}
local maxBatch = tonumber(ARGV[1])
local maxWait = tonumber(ARGV[2])
local lease = tonumber(ARGV[3])
local holdFull = ARGV[4] == '1'
local bprefix = ARGV[5]
local now = nowMs()
local reclaimed = 0
for _, id in ipairs(redis.call('ZRANGEBYSCORE', k.leases, '-inf', now, 'LIMIT', 0, tonumber(ARGV[6]))) do
  returnBatch(k, bprefix .. id, id)
  reclaimed = reclaimed + 1
end
local function leaseIn()
  local first = redis.call('ZRANGE', k.leases, 0, 0, 'WITHSCORES')
  if #first == 0 then return -1 end
  return math.max(0, tonumber(first[2]) - now)
end
local pending = redis.call('ZCARD', k.queue)
local picked, since = {}, {}
local start = 0
while #picked < maxBatch and start < pending do
  local chunk = redis.call('ZRANGE', k.queue, start, start + maxBatch - 1, 'WITHSCORES')
  for j = 1, #chunk, 2 do
    if redis.call('HEXISTS', k.inflight, chunk[j]) == 0 then
      picked[#picked + 1] = chunk[j]
      since[#since + 1] = tonumber(chunk[j + 1])
      if #picked >= maxBatch then break end
    end
  end
  start = start + maxBatch
end
if #picked == 0 then return {0, reclaimed, -1, leaseIn(), pending} end
local full = #picked >= maxBatch
local age = now - since[1]
if not ((full and not holdFull) or age >= maxWait) then
  return {0, reclaimed, maxWait - age, leaseIn(), pending}
end
local id = tostring(redis.call('INCR', k.batchSeq))
local bkey = bprefix .. id
local out = {id, reclaimed}
for i, sku in ipairs(picked) do
  local json = redis.call('HGET', k.pending, sku)
  local v = redis.call('HGET', k.pendingVer, sku)
  local t = string.format('%.0f', since[i])
  redis.call('HSET', bkey, sku, cjson.encode({v = v, t = t, s = json}))
  redis.call('HDEL', k.pending, sku)
  redis.call('HDEL', k.pendingVer, sku)
  redis.call('ZREM', k.queue, sku)
  redis.call('HSET', k.inflight, sku, id)
  out[#out + 1] = sku
  out[#out + 1] = json
  out[#out + 1] = v
  out[#out + 1] = t
end
redis.call('ZADD', k.leases, now + lease, id)
return out
`;

/**
 * KEYS: the 7 buffer keys. ARGV: batch id, batch key, leaseMs. Before each (re)send: extends the
 * lease and swaps in any newer pending version of the batch's SKUs (a newer change supersedes an
 * unsent one). Returns the batch's entries, or {} when the batch is no longer ours (its lease
 * expired and it went back to pending).
 */
const RENEW = `${NOW}${KEYS7}
local id, bkey = ARGV[1], ARGV[2]
local now = nowMs()
if not redis.call('ZSCORE', k.leases, id) then return {} end
redis.call('ZADD', k.leases, 'XX', now + tonumber(ARGV[3]), id)
local flat = redis.call('HGETALL', bkey)
local out = {}
for i = 1, #flat, 2 do
  local sku = flat[i]
  local e = cjson.decode(flat[i + 1])
  local pv = redis.call('HGET', k.pendingVer, sku)
  if pv and tonumber(pv) > tonumber(e.v) then
    e.v = pv
    e.s = redis.call('HGET', k.pending, sku)
    redis.call('HSET', bkey, sku, cjson.encode(e))
    redis.call('HDEL', k.pending, sku)
    redis.call('HDEL', k.pendingVer, sku)
    redis.call('ZREM', k.queue, sku)
  end
  out[#out + 1] = sku
  out[#out + 1] = e.s
  out[#out + 1] = e.v
  out[#out + 1] = e.t
end
return out
`;

/**
 * KEYS: the 7 buffer keys. ARGV: batch id, batch key, then pairs skuCode, version that owitho
 * answered 200 for. Forgets them: frees the SKUs, drops the batch, and drops a pending entry of
 * exactly that version (the batch had been taken back after a lost lease). Returns 1 when the
 * batch was still ours.
 */
const ACK = `${KEYS7}
local id, bkey = ARGV[1], ARGV[2]
for i = 3, #ARGV, 2 do
  local sku = ARGV[i]
  if redis.call('HGET', k.inflight, sku) == id then redis.call('HDEL', k.inflight, sku) end
  local pv = redis.call('HGET', k.pendingVer, sku)
  if pv and tonumber(pv) == tonumber(ARGV[i + 1]) then
    redis.call('HDEL', k.pending, sku)
    redis.call('HDEL', k.pendingVer, sku)
    redis.call('ZREM', k.queue, sku)
  end
end
local ours = redis.call('DEL', bkey)
redis.call('ZREM', k.leases, id)
return ours
`;

/**
 * KEYS: the 7 buffer keys, then the dead-letter list. ARGV: batch id, batch key, record JSON (the
 * batch's entries are added under "skus"), cap of the list. owitho refused the batch for good: it
 * is recorded for inspection and forgotten like an acknowledged one. Returns 1 when it was ours.
 */
const DEAD = `${KEYS7}
local id, bkey = ARGV[1], ARGV[2]
if not redis.call('ZSCORE', k.leases, id) then return 0 end
local flat = redis.call('HGETALL', bkey)
local record = cjson.decode(ARGV[3])
local skus = {}
for i = 1, #flat, 2 do
  local sku = flat[i]
  local e = cjson.decode(flat[i + 1])
  skus[#skus + 1] = { skuCode = sku, version = e.v, sku = e.s }
  if redis.call('HGET', k.inflight, sku) == id then redis.call('HDEL', k.inflight, sku) end
end
record.skus = skus
redis.call('LPUSH', KEYS[8], cjson.encode(record))
redis.call('LTRIM', KEYS[8], 0, tonumber(ARGV[4]) - 1)
redis.call('DEL', bkey)
redis.call('ZREM', k.leases, id)
return 1
`;

/** KEYS: the 7 buffer keys. ARGV: batch id, batch key. Gives a batch back to pending now (shutdown). */
const RELEASE = `${KEYS7}${RETURN_BATCH}
if not redis.call('ZSCORE', k.leases, ARGV[1]) then return -1 end
return returnBatch(k, ARGV[2], ARGV[1])
`;

const COMMANDS = {
  owcSkuBufferUpsert: { numberOfKeys: 8, lua: UPSERT },
  owcSkuBufferTake: { numberOfKeys: 7, lua: TAKE },
  owcSkuBufferRenew: { numberOfKeys: 7, lua: RENEW },
  owcSkuBufferAck: { numberOfKeys: 7, lua: ACK },
  owcSkuBufferRelease: { numberOfKeys: 7, lua: RELEASE },
  owcSkuBufferDead: { numberOfKeys: 8, lua: DEAD },
} as const;

export interface SkuBufferOptions {
  redis: RedisClient;
  keyPrefix: string;
  /** how many expired batches one take may return to pending; default 16 */
  reclaimLimit?: number;
}

function entriesOf(flat: string[], from: number): BatchEntry[] {
  const entries: BatchEntry[] = [];
  for (let i = from; i + 3 < flat.length; i += 4) {
    entries.push({
      skuCode: flat[i] as string,
      json: flat[i + 1] as string,
      version: Number(flat[i + 2]),
      pendingSince: Number(flat[i + 3]),
    });
  }
  return entries;
}

/**
 * The shared pending buffer of SKU changes, in Redis, under one hash tag. Changes coalesce by
 * skuCode (the highest version wins); a taken batch is leased, and only an acknowledgement
 * (owitho answered 200) forgets it — an expired lease puts it back. See docs/sync.md.
 */
export class SkuBuffer {
  private readonly redis: RedisClient;
  private readonly keys: string[];
  private readonly idCounterKey: string;
  private readonly deadKey: string;
  private readonly batchPrefix: string;
  private readonly reclaimLimit: number;

  constructor(options: SkuBufferOptions) {
    this.redis = options.redis;
    const key = (...parts: string[]) => taggedKey(options.keyPrefix, SKU_BUFFER_TAG, 'buffer', ...parts);
    this.keys = [
      key('pending'),
      key('pending-version'),
      key('queue'),
      key('in-flight'),
      key('leases'),
      key('seen'),
      key('batch-seq'),
    ];
    this.batchPrefix = `${key('batch')}:`;
    this.deadKey = key('dead');
    // BullMQ's job id counter of the sku-sync queue (`<prefix>:<queue>:id`), same hash tag
    this.idCounterKey = `${queuePrefix(options.keyPrefix, 'sku-sync')}:sku-sync:id`;
    this.reclaimLimit = options.reclaimLimit ?? 16;
    this.scripts = defineScripts(this.redis, COMMANDS);
  }

  private readonly scripts: Record<keyof typeof COMMANDS, ScriptCall>;

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
    const [accepted, v] = (await this.scripts.owcSkuBufferUpsert(
      ...this.keys,
      this.idCounterKey,
      ...args,
    )) as [number, number];
    return { accepted, version: Number(v) };
  }

  async take(options: TakeOptions): Promise<TakeResult> {
    const out = (await this.scripts.owcSkuBufferTake(
      ...this.keys,
      options.maxBatch,
      options.maxWaitMs,
      options.leaseMs,
      options.holdFull ? '1' : '0',
      this.batchPrefix,
      this.reclaimLimit,
    )) as (string | number)[];
    const reclaimed = Number(out[1]);
    if (String(out[0]) !== '0') {
      return { batch: { id: String(out[0]), entries: entriesOf(out.map(String), 2) }, reclaimed };
    }
    const dueIn = Number(out[2]);
    const leaseIn = Number(out[3]);
    return {
      reclaimed,
      pending: Number(out[4]),
      ...(dueIn >= 0 ? { dueInMs: dueIn } : {}),
      ...(leaseIn >= 0 ? { leaseInMs: leaseIn } : {}),
    };
  }

  /** Extends the lease and swaps in newer versions; undefined when the batch is no longer ours. */
  async renew(batchId: string, leaseMs: number): Promise<BatchEntry[] | undefined> {
    const out = (await this.scripts.owcSkuBufferRenew(
      ...this.keys,
      batchId,
      this.batchPrefix + batchId,
      leaseMs,
    )) as string[];
    return out.length === 0 ? undefined : entriesOf(out, 0);
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
    return Number(ours) === 1;
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
      1000,
    );
    return Number(ours) === 1;
  }

  /** The newest dead-lettered batches (newest first). */
  async deadLetters(count = 100): Promise<DeadBatch[]> {
    const raw = await this.redis.lrange(this.deadKey, 0, count - 1);
    return raw.map((r) => {
      const d = JSON.parse(r) as { batchId: string; reason: string; at: number; skus?: unknown };
      const skus = Array.isArray(d.skus)
        ? (d.skus as { skuCode: string; version: string; sku: string }[])
        : [];
      return {
        batchId: d.batchId,
        reason: d.reason,
        at: d.at,
        entries: skus.map((e) => ({ skuCode: e.skuCode, version: Number(e.version), json: e.sku })),
      };
    });
  }

  async stats(): Promise<BufferStats> {
    const [pending, inFlightBatches, inFlightSkus, known] = await Promise.all([
      this.redis.zcard(this.keys[2] as string),
      this.redis.zcard(this.keys[4] as string),
      this.redis.hlen(this.keys[3] as string),
      this.redis.hlen(this.keys[5] as string),
    ]);
    return { pending, inFlightBatches, inFlightSkus, known };
  }
}
