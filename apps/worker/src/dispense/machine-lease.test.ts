import { redisTest, waitFor, waitForRenewals } from '@owc/testing';
import { describe, expect } from 'vitest';
import { MachineLease, machineLeaseKey } from './machine-lease.js';

describe('MachineLease', () => {
  redisTest('one holder per machine; other machines are independent', async ({ redis, prefix }) => {
    const a = new MachineLease({ redis, keyPrefix: prefix, ttlMs: 5000 });
    const b = new MachineLease({ redis, keyPrefix: prefix, ttlMs: 5000 });
    const held = await a.tryAcquire('M001');
    expect(held).toBeDefined();
    expect(await b.tryAcquire('M001')).toBeUndefined();
    const other = await b.tryAcquire('M002');
    expect(other).toBeDefined();
    expect(machineLeaseKey(prefix, 'M001')).toBe(`${prefix}:{machine:M001}:lease`);
    expect(await redis.pttl(machineLeaseKey(prefix, 'M001'))).toBeGreaterThan(4000);
    await held?.release();
    const next = await b.tryAcquire('M001');
    expect(next).toBeDefined();
    await next?.release();
    await other?.release();
  });

  redisTest('50 concurrent takers: exactly one wins', async ({ redis, prefix }) => {
    const lease = new MachineLease({ redis, keyPrefix: prefix, ttlMs: 5000 });
    const taken = await Promise.all(Array.from({ length: 50 }, () => lease.tryAcquire('M001')));
    expect(taken.filter(Boolean)).toHaveLength(1);
    await Promise.all(taken.map((t) => t?.release()));
  });

  redisTest(
    'released by value: an expired holder never frees the next holder’s lease',
    async ({ redis, prefix }) => {
      const lease = new MachineLease({ redis, keyPrefix: prefix, ttlMs: 1000, renewEveryMs: 60_000 });
      const first = await lease.tryAcquire('M001');
      expect(first).toBeDefined();
      await waitFor(async () => (await redis.exists(machineLeaseKey(prefix, 'M001'))) === 0);
      const second = await lease.tryAcquire('M001');
      expect(second).toBeDefined();
      // the first holder wakes up: its lease is gone, renewing says so, releasing changes nothing
      expect(await first?.renew()).toBe(false);
      expect(first?.held).toBe(false);
      await first?.release();
      expect(await lease.holder('M001')).toBe(second?.token);
      await second?.release();
      expect(await lease.holder('M001')).toBeNull();
    },
  );

  redisTest('a held lease is renewed in the background past its TTL', async ({ redis, prefix }) => {
    const ttlMs = 1000;
    const lease = new MachineLease({ redis, keyPrefix: prefix, ttlMs, renewEveryMs: 200 });
    const held = await lease.tryAcquire('M001');
    const key = machineLeaseKey(prefix, 'M001');
    await waitForRenewals(() => redis.pttl(key), { renewals: 6, outlivedMs: ttlMs, intervalMs: 20 });
    expect(await lease.holder('M001')).toBe(held?.token);
    expect(await held?.renew()).toBe(true);
    await held?.release();
    expect(held?.held).toBe(false);
  });
});
