import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OrderStore } from '@owc/order-store';
import { redisAnswers, type StartedRedis, startRedisServer, uniquePrefix, waitFor } from '@owc/testing';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { startSystem } from '../system-support.js';
import { APP, expectExactlyOnce } from './fault-support.js';

const SEED = { machines: 3, slotsPerMachine: 6 };

/** A private redis-server with its AOF on disk (fsync on every write), in `dir`, on `port` when given. */
function startPersistentRedis(dir: string, port?: number): Promise<StartedRedis> {
  return startRedisServer(['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir], port);
}

/** SIGKILL: no shutdown, no final save; what survives is what the AOF holds. */
async function sigkill(url: string): Promise<void> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  const info = await client.info('server');
  client.disconnect();
  const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
  expect(pid).toBeGreaterThan(0);
  process.kill(pid, 'SIGKILL');
  await waitFor(async () => !(await redisAnswers(url, 300)), { timeoutMs: 10_000, what: 'redis gone' });
}

describe('fault: Redis SIGKILLed mid-stream', () => {
  it('restarted from its AOF: every order dispensed once and called back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'owc-aof-'));
    let redis = await startPersistentRedis(dir);
    const prefix = uniquePrefix();
    const system = await startSystem(redis.url, prefix, {
      app: APP,
      seed: SEED,
      inventory: 500,
      vendDurationMs: 20,
      owitho: { noticeRetryMs: 300 },
      workerEnv: {
        MACHINE_LEASE_TTL_MS: '3000',
        GATEWAY_VEND_TIMEOUT_MS: '2000',
        JOB_LOCK_DURATION_MS: '3000',
        CALLBACK_SCHEDULE_MS: '200,400,800,1600,3200,3200,3200,3200',
      },
    });
    const { owitho, machines } = system;
    const check = new Redis(redis.url, { maxRetriesPerRequest: null });
    // it reconnects by itself once Redis is back
    check.on('error', () => {});
    const store = new OrderStore({ redis: check, keyPrefix: prefix, ttlMs: 3600_000 });
    try {
      const ids = owitho.sim.pushGenerated(40);
      // mid-stream: some orders accepted, not all reported
      await waitFor(
        async () => (await Promise.all(ids.map((id) => store.get(id)))).filter(Boolean).length >= 10,
        {
          timeoutMs: 60_000,
          what: 'some orders accepted',
        },
      );
      const port = redis.port;
      await sigkill(redis.url);
      redis = await startPersistentRedis(dir, port);
      await waitFor(
        async () => (await Promise.all(ids.map((id) => store.get(id)))).every((r) => r?.state === 'reported'),
        { timeoutMs: 120_000, intervalMs: 200, what: 'every order reported after the restart' },
      );
      const notices = ids.map((id) => owitho.sim.order(id)?.notice).filter((n) => n !== undefined);
      expect(notices).toHaveLength(40);
      await expectExactlyOnce(machines, owitho, store, notices);
    } finally {
      check.disconnect();
      await system.close();
      await redis.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);
});
