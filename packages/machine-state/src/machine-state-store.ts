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

/**
 * The snapshot key of one machine: `${prefix}:{machine:${code}}:snapshot`, a hash holding one
 * snapshot per container (see `snapshotFields`).
 */
export function machineSnapshotKey(prefix: string, machineCode: string): string {
  return taggedKey(prefix, `machine:${machineCode}`, 'snapshot');
}

/**
 * The hash fields of one container's snapshot: `layout` / `seenAt` for a layout without
 * containerCode, `layout:<containerCode>` / `seenAt:<containerCode>` for a container. Containers
 * of one machine never overwrite each other.
 */
export function snapshotFields(containerCode?: string): { layout: string; seenAt: string } {
  return containerCode === undefined
    ? { layout: 'layout', seenAt: 'seenAt' }
    : { layout: `layout:${containerCode}`, seenAt: `seenAt:${containerCode}` };
}

/**
 * KEYS[1] the snapshot hash; ARGV: layout JSON, seenAt, the layout field, the seenAt field → 1
 * saved, 0 when a newer snapshot of that container is already stored (two writers — the ingress
 * and the sync worker — never move a container back in time).
 */
const SAVE = `
local current = redis.call('HGET', KEYS[1], ARGV[4])
if current and tonumber(current) > tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[3], ARGV[1], ARGV[4], ARGV[2])
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
    const fields = snapshotFields(valid.containerCode);
    const saved = await this.saveScript(
      machineSnapshotKey(this.prefix, valid.machineCode),
      JSON.stringify(valid),
      Math.trunc(seenAt),
      fields.layout,
      fields.seenAt,
    );
    return saved === 1;
  }

  /** Every container's last known layout, sorted by containerCode (none first); [] when never seen. */
  async list(machineCode: string): Promise<MachineSnapshot[]> {
    const raw = await this.redis.hgetall(machineSnapshotKey(this.prefix, machineCode));
    const snapshots: MachineSnapshot[] = [];
    for (const [field, value] of Object.entries(raw)) {
      if (field !== 'layout' && !field.startsWith('layout:')) continue;
      const seenAtField = field === 'layout' ? 'seenAt' : `seenAt:${field.slice('layout:'.length)}`;
      const snapshot = readSnapshot(value, raw[seenAtField]);
      if (snapshot) snapshots.push(snapshot);
    }
    const order = (s: MachineSnapshot) => s.layout.containerCode ?? '';
    return snapshots.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
  }

  /**
   * The last known layout of one container (`containerCode`), or — without one — of the machine's
   * only container, or its first by code when it has several (`list` shows them all). Undefined
   * when never seen (or the stored value is unreadable).
   */
  async get(machineCode: string, containerCode?: string): Promise<MachineSnapshot | undefined> {
    if (containerCode === undefined) return (await this.list(machineCode))[0];
    const fields = snapshotFields(containerCode);
    const [layout, seenAt] = await this.redis.hmget(
      machineSnapshotKey(this.prefix, machineCode),
      fields.layout,
      fields.seenAt,
    );
    return readSnapshot(layout ?? undefined, seenAt ?? undefined);
  }
}

function readSnapshot(
  layoutJson: string | undefined,
  seenAtText: string | undefined,
): MachineSnapshot | undefined {
  if (!layoutJson || seenAtText === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(layoutJson);
  } catch {
    return undefined;
  }
  const layout = machineLayoutSchema.safeParse(json);
  const seenAt = seenAtSchema.safeParse(seenAtText);
  if (!layout.success || !seenAt.success) return undefined;
  return { layout: layout.data, seenAt: seenAt.data };
}
