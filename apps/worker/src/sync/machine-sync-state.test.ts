import { redisTest, waitFor } from '@owc/testing';
import { describe, expect } from 'vitest';
import { MachineSyncState, machineSyncKeys } from './machine-sync-state.js';

describe('MachineSyncState', () => {
  redisTest(
    'the per-machine lock: one holder, renewed while held, released by its holder',
    async ({ redis, prefix }) => {
      const state = new MachineSyncState(redis, prefix);
      const { lock } = machineSyncKeys(prefix, 'M1');
      const release = await state.tryLock('M1', 300);
      if (!release) throw new Error('expected the lock');
      expect(await state.tryLock('M1', 300)).toBeUndefined();
      // renewal: the remaining time goes up again while we hold it
      let lowest = await redis.pttl(lock);
      await waitFor(async () => {
        const ttl = await redis.pttl(lock);
        if (ttl > lowest) return true;
        lowest = ttl;
        return false;
      });
      await release();
      expect(await redis.exists(lock)).toBe(0);
      const again = await state.tryLock('M1', 300);
      expect(again).toBeDefined();
      await again?.();
    },
  );

  redisTest(
    'events: the highest version is the source; a re-run of a job records nothing new',
    async ({ redis, prefix }) => {
      const state = new MachineSyncState(redis, prefix);
      const layout = (n: number) => ({ kind: 'layout' as const, json: `{"n":${n}}`, at: n });
      await state.record('M1', { version: 5, jobId: '5', source: layout(5) });
      await state.record('M1', { version: 3, jobId: '3', source: layout(3) });
      expect(await state.latestSource('M1')).toEqual({ version: 5, source: layout(5) });
      // a custom id gets a version once and keeps it
      let counter = 10;
      const next = async () => ++counter;
      const first = await state.record('M1', {
        jobId: 'custom',
        fallbackVersion: next,
        source: { kind: 'gateway' },
      });
      const rerun = await state.record('M1', {
        jobId: 'custom',
        fallbackVersion: next,
        source: { kind: 'gateway' },
      });
      expect(first.version).toBe(11);
      expect(rerun.version).toBe(11);
      expect(await state.latestSource('M1')).toEqual({ version: 11, source: { kind: 'gateway' } });
      await state.markSynced('M1', 11);
      const covered = await state.record('M1', { version: 4, jobId: '4', source: layout(4) });
      expect(covered.synced).toBeGreaterThanOrEqual(covered.version);
      expect(covered.firstAt).toBe(0);
    },
  );
});
