import { describeZodError, type MachineLayout, machineLayoutSchema } from '@owc/protocol';
import { defineScripts, type RedisClient, type ScriptCall, taggedKey } from '@owc/redis';
import { z } from 'zod';

export interface MachineStateStoreOptions {
  redis: RedisClient;
  keyPrefix: string;
}

/** A machine's last known layout and when it was seen (epoch ms). */
export interface MachineSnapshot {
  layout: MachineLayout;
  seenAt: number;
}

/** The snapshot key of one machine: `${prefix}:{machine:${code}}:snapshot`. */
export function machineSnapshotKey(prefix: string, machineCode: string): string {
  return taggedKey(prefix, `machine:${machineCode}`, 'snapshot');
}

/**
 * KEYS[1] the snapshot hash; ARGV: layout JSON, seenAt → 1 saved, 0 when a newer snapshot is
 * already stored (two writers — the ingress and the sync worker — never move a machine back in time).
 */
const SAVE = `
local current = redis.call('HGET', KEYS[1], 'seenAt')
if current and tonumber(current) > tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'layout', ARGV[1], 'seenAt', ARGV[2])
return 1
`;

const seenAtSchema = z.coerce.number().int().min(0);

/**
 * The last known layout of each machine. The ingress saves after every successful live
 * machine/query and answers from here when the gateway is slow or down; the sync worker saves
 * the layouts it sends. One key per machine, so it works on Redis Cluster unchanged.
 */
export class MachineStateStore {
  private readonly redis: RedisClient;
  private readonly prefix: string;
  private readonly saveScript: ScriptCall;

  constructor(options: MachineStateStoreOptions) {
    this.redis = options.redis;
    this.prefix = options.keyPrefix;
    this.saveScript = defineScripts(this.redis, {
      owcSaveMachineSnapshot: { numberOfKeys: 1, lua: SAVE },
    }).owcSaveMachineSnapshot;
  }

  /**
   * Stores the layout as the machine's last known state unless a newer one (by seenAt) is
   * already stored. Returns whether this call's layout is now the stored one.
   */
  async save(layout: MachineLayout, seenAt: number = Date.now()): Promise<boolean> {
    const parsed = machineLayoutSchema.safeParse(layout);
    if (!parsed.success) throw new Error(`invalid machine layout: ${describeZodError(parsed.error)}`);
    const valid = parsed.data;
    const saved = await this.saveScript(
      machineSnapshotKey(this.prefix, valid.machineCode),
      JSON.stringify(valid),
      Math.trunc(seenAt),
    );
    return saved === 1;
  }

  /** The last known layout, or undefined when the machine was never seen (or the stored value is unreadable). */
  async get(machineCode: string): Promise<MachineSnapshot | undefined> {
    const raw = await this.redis.hgetall(machineSnapshotKey(this.prefix, machineCode));
    if (!raw.layout || raw.seenAt === undefined) return undefined;
    let json: unknown;
    try {
      json = JSON.parse(raw.layout);
    } catch {
      return undefined;
    }
    const layout = machineLayoutSchema.safeParse(json);
    const seenAt = seenAtSchema.safeParse(raw.seenAt);
    if (!layout.success || !seenAt.success) return undefined;
    return { layout: layout.data, seenAt: seenAt.data };
  }
}
