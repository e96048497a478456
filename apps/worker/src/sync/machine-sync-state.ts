import { defineScripts, type RedisClient, RedisLease, type ScriptCall, taggedKey } from '@owc/redis';

/** What a machine event asks to send: the gateway's live layout, or a layout the sender gave. */
export type LayoutSource = { kind: 'gateway' } | { kind: 'layout'; json: string; at: number };

export interface MachineSyncView {
  /** highest event version recorded */
  latest: number;
  /** highest version a successful machine/sync covered */
  synced: number;
  /** the highest version known to be unsendable (unknown machine), and why */
  failed: number;
  failReason?: string;
  /** Redis time of the newest event, of the first event not yet synced, and now */
  lastAt: number;
  firstAt: number;
  now: number;
  /** the version this event was recorded with */
  version: number;
}

const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

const VIEW = `
local h = redis.call('HMGET', KEYS[1], 'latest', 'synced', 'failed', 'failReason', 'lastAt', 'firstAt')
return {h[1] or '0', h[2] or '0', h[3] or '0', h[4] or '', h[5] or '0', h[6] or '0', string.format('%.0f', now)}
`;

/**
 * KEYS[1] the machine's sync state. ARGV: version ('' = use the one remembered for the job id,
 * else ARGV[4]), source kind, source json, job id, fallback version, source time.
 * Records an event once (a re-run of the same job changes nothing); only a version above every
 * earlier one replaces the source and restarts the quiet period: the latest enqueued wins.
 */
const RECORD = `${NOW}
local version = ARGV[1]
if version == '' then
  local field = 'job:' .. ARGV[4]
  version = redis.call('HGET', KEYS[1], field)
  if not version then
    version = ARGV[5]
    redis.call('HSET', KEYS[1], field, version)
  end
end
local latest = tonumber(redis.call('HGET', KEYS[1], 'latest') or '0')
if tonumber(version) > latest then
  redis.call('HSET', KEYS[1], 'latest', version, 'lastAt', string.format('%.0f', now),
    'sourceKind', ARGV[2], 'sourceJson', ARGV[3], 'sourceAt', ARGV[6])
  if redis.call('HEXISTS', KEYS[1], 'firstAt') == 0 then
    redis.call('HSET', KEYS[1], 'firstAt', string.format('%.0f', now))
  end
end
${VIEW.replace('return {', 'return {version, ')}`;

/** KEYS[1] state. ARGV: version sent. After a 200: marks everything up to it synced. */
const SYNCED = `${NOW}
local v = tonumber(ARGV[1])
if v > tonumber(redis.call('HGET', KEYS[1], 'synced') or '0') then
  redis.call('HSET', KEYS[1], 'synced', ARGV[1])
end
if tonumber(redis.call('HGET', KEYS[1], 'latest') or '0') <= v then
  redis.call('HDEL', KEYS[1], 'firstAt')
else
  redis.call('HSET', KEYS[1], 'firstAt', string.format('%.0f', now))
end
return 1
`;

/** KEYS[1] state. ARGV: version, reason. Events up to `version` cannot be sent (unknown machine). */
const FAILED = `
if tonumber(ARGV[1]) > tonumber(redis.call('HGET', KEYS[1], 'failed') or '0') then
  redis.call('HSET', KEYS[1], 'failed', ARGV[1], 'failReason', ARGV[2])
end
if tonumber(redis.call('HGET', KEYS[1], 'latest') or '0') <= tonumber(ARGV[1]) then
  redis.call('HDEL', KEYS[1], 'firstAt')
end
return 1
`;

const COMMANDS = {
  owcMachineSyncRecord: { numberOfKeys: 1, lua: RECORD },
  owcMachineSyncDone: { numberOfKeys: 1, lua: SYNCED },
  owcMachineSyncFailed: { numberOfKeys: 1, lua: FAILED },
} as const;

/**
 * What one coalescing track syncs: a machine's container (`machine.layout`, or `machine.restocked`
 * naming a container), or the whole machine (`machine.restocked` naming none: every container).
 * Two containers of one machine have separate tracks, so neither overwrites the other.
 */
export type MachineSyncTarget = string | { machineCode: string; containerCode?: string | undefined };

/**
 * The sync state and lock of a track: `${prefix}:{machine:<code>}:sync` / `:sync-lock` for the
 * whole machine, `…:container:<containerCode>:sync` / `:sync-lock` for a container; one tag per machine.
 */
export function machineSyncKeys(
  keyPrefix: string,
  target: MachineSyncTarget,
): { state: string; lock: string } {
  const machineCode = typeof target === 'string' ? target : target.machineCode;
  const containerCode = typeof target === 'string' ? undefined : target.containerCode;
  const parts = containerCode === undefined ? [] : ['container', containerCode];
  return {
    state: taggedKey(keyPrefix, `machine:${machineCode}`, ...parts, 'sync'),
    lock: taggedKey(keyPrefix, `machine:${machineCode}`, ...parts, 'sync-lock'),
  };
}

/** Redis side of machine/sync coalescing (see MachineSyncHandler and docs/sync.md). */
export class MachineSyncState {
  constructor(
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
  ) {
    this.scripts = defineScripts(this.redis, COMMANDS);
  }

  private readonly scripts: Record<keyof typeof COMMANDS, ScriptCall>;

  /**
   * Records an event (idempotent per job). `version` is the job's auto id; for a custom id,
   * `fallbackVersion` (a fresh value of the queue's counter) is remembered under the job id.
   */
  async record(
    target: MachineSyncTarget,
    event: { version?: number; jobId: string; fallbackVersion?: () => Promise<number>; source: LayoutSource },
  ): Promise<MachineSyncView> {
    const { state } = machineSyncKeys(this.keyPrefix, target);
    let fallback = '';
    if (event.version === undefined) {
      const known = await this.redis.hget(state, `job:${event.jobId}`);
      fallback = known ?? String(event.fallbackVersion ? await event.fallbackVersion() : 1);
    }
    const source = event.source;
    const out = (await this.scripts.owcMachineSyncRecord(
      state,
      event.version === undefined ? '' : String(event.version),
      source.kind,
      source.kind === 'layout' ? source.json : '',
      event.jobId,
      fallback,
      source.kind === 'layout' ? String(source.at) : '0',
    )) as string[];
    return viewOf(out);
  }

  /** The source to send for the latest version (read under the lock). */
  async latestSource(target: MachineSyncTarget): Promise<{ version: number; source: LayoutSource }> {
    const { state } = machineSyncKeys(this.keyPrefix, target);
    const [latest, kind, json, at] = await this.redis.hmget(
      state,
      'latest',
      'sourceKind',
      'sourceJson',
      'sourceAt',
    );
    const version = Number(latest ?? 0);
    if (kind === 'layout' && json) return { version, source: { kind: 'layout', json, at: Number(at ?? 0) } };
    return { version, source: { kind: 'gateway' } };
  }

  async markSynced(target: MachineSyncTarget, version: number): Promise<void> {
    await this.scripts.owcMachineSyncDone(machineSyncKeys(this.keyPrefix, target).state, version);
  }

  async markFailed(target: MachineSyncTarget, version: number, reason: string): Promise<void> {
    await this.scripts.owcMachineSyncFailed(machineSyncKeys(this.keyPrefix, target).state, version, reason);
  }

  /** Forgets the version remembered for a custom job id (once the job is done). */
  async forgetJob(target: MachineSyncTarget, jobId: string): Promise<void> {
    await this.redis.hdel(machineSyncKeys(this.keyPrefix, target).state, `job:${jobId}`);
  }

  /**
   * The per-machine lock: at most one machine/sync in flight per machine. A `RedisLease`,
   * renewed every ttl/3 while held (a dead holder's lock lapses after at most ttl). Returns a
   * release function.
   */
  async tryLock(target: MachineSyncTarget, ttlMs: number): Promise<(() => Promise<void>) | undefined> {
    const hold = await new RedisLease(this.redis, { ttlMs }).acquire(
      machineSyncKeys(this.keyPrefix, target).lock,
    );
    if (!hold) return undefined;
    return async () => {
      await hold.release();
    };
  }
}

function viewOf(out: string[]): MachineSyncView {
  const [version, latest, synced, failed, failReason, lastAt, firstAt, now] = out.map(String);
  return {
    version: Number(version),
    latest: Number(latest),
    synced: Number(synced),
    failed: Number(failed),
    ...(failReason ? { failReason } : {}),
    lastAt: Number(lastAt),
    firstAt: Number(firstAt),
    now: Number(now),
  };
}
