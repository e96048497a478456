// A Redis server of the benchmark's own (redis-server on a free port, no persistence), so that
// INFO commandstats, used_memory and the server's CPU count only what the benchmark did: the
// shared Redis also serves other people's test runs.
import { startRedisServer } from '@owc/testing/kit';
import { Redis } from 'ioredis';

export interface PrivateRedis {
  url: string;
  pid: number;
  /** calls per command (Lua-internal calls included) since the server started */
  commandCalls(): Promise<Record<string, number>>;
  usedMemory(): Promise<number>;
  stop(): Promise<void>;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const server = await startRedisServer(['--loglevel', 'warning']);
  const client = new Redis(server.url, { maxRetriesPerRequest: 1 });
  return {
    url: server.url,
    pid: server.pid,
    async commandCalls() {
      const info = await client.info('commandstats');
      const calls: Record<string, number> = {};
      for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[m[1] as string] = Number(m[2]);
      return calls;
    },
    async usedMemory() {
      const info = await client.info('memory');
      return Number(/^used_memory:(\d+)/m.exec(info)?.[1]);
    },
    async stop() {
      client.disconnect();
      await server.stop();
    },
  };
}

/** Commands called between two `commandCalls()` snapshots: the total and the largest ones. */
export function commandDelta(
  before: Record<string, number>,
  after: Record<string, number>,
): { total: number; byCommand: Record<string, number> } {
  const byCommand: Record<string, number> = {};
  let total = 0;
  for (const [name, calls] of Object.entries(after)) {
    const delta = calls - (before[name] ?? 0);
    if (delta <= 0) continue;
    byCommand[name] = delta;
    total += delta;
  }
  const sorted = Object.fromEntries(Object.entries(byCommand).sort(([, a], [, b]) => b - a));
  return { total, byCommand: sorted };
}
