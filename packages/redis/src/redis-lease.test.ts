import { redisTest, waitFor, waitForRenewals } from '@owc/testing';
import { describe, expect } from 'vitest';
import { RedisLease } from './redis-lease.js';

describe('RedisLease', () => {
  redisTest('one holder at a time; the token is random and 128 bits', async ({ redis, prefix }) => {
    const lease = new RedisLease(redis, { ttlMs: 5000 });
    const key = `${prefix}:lease`;
    const first = await lease.acquire(key);
    expect(first?.token).toMatch(/^[0-9a-f]{32}$/);
    expect(await lease.acquire(key)).toBeUndefined();
    expect(await redis.pttl(key)).toBeGreaterThan(4000);
    expect(await lease.holder(key)).toBe(first?.token);
    expect(await first?.check()).toBe(true);
    expect(await first?.release()).toBe(true);
    expect(await first?.release()).toBe(false);
    expect(first?.held).toBe(false);
    const second = await lease.acquire(key);
    expect(second?.token).not.toBe(first?.token);
    await second?.release();
  });

  redisTest('50 concurrent takers: exactly one wins', async ({ redis, prefix }) => {
    const lease = new RedisLease(redis, { ttlMs: 5000 });
    const taken = await Promise.all(Array.from({ length: 50 }, () => lease.acquire(`${prefix}:lease`)));
    expect(taken.filter(Boolean)).toHaveLength(1);
    await Promise.all(taken.map((t) => t?.release()));
  });

  redisTest('renew and release act only while the token is ours', async ({ redis, prefix }) => {
    const lease = new RedisLease(redis, { ttlMs: 5000, renewEveryMs: 0 });
    const key = `${prefix}:lease`;
    const first = await lease.acquire(key);
    expect(await first?.renew()).toBe(true);
    // the lease passes to someone else behind the first holder's back (as after an expiry)
    await redis.set(key, 'someone-else', 'PX', 5000);
    expect(await first?.check()).toBe(false);
    expect(first?.held).toBe(false);
    expect(await first?.renew()).toBe(false);
    expect(await first?.release()).toBe(false);
    expect(await redis.get(key)).toBe('someone-else');
    expect(await redis.pttl(key)).toBeLessThanOrEqual(5000);
  });

  redisTest(
    'ensure: no round trip while the last take or renewal keeps the lease ours long enough, else a renewal',
    async ({ redis, prefix }) => {
      const lease = new RedisLease(redis, { ttlMs: 60_000, renewEveryMs: 0 });
      const key = `${prefix}:lease`;
      const held = await lease.acquire(key);
      // taken just now: ours for nearly 60 s, so 10 s more needs no renewal (the TTL is not touched)
      await redis.pexpire(key, 20_000);
      expect(await held?.ensure(10_000)).toBe(true);
      expect(await redis.pttl(key)).toBeLessThanOrEqual(20_000);
      // the whole TTL cannot be vouched for by an earlier take: renewed, found still ours
      expect(await held?.ensure(60_000)).toBe(true);
      expect(await redis.pttl(key)).toBeGreaterThan(50_000);
      // a renewal that finds the lease gone says so, and the hold is lost for good
      await redis.del(key);
      expect(await held?.ensure(60_000)).toBe(false);
      expect(held?.held).toBe(false);
      expect(await held?.ensure(0)).toBe(false);
    },
  );

  redisTest('a renewal that finds the lease taken marks the hold lost', async ({ redis, prefix }) => {
    const lease = new RedisLease(redis, { ttlMs: 5000, renewEveryMs: 0 });
    const key = `${prefix}:lease`;
    const first = await lease.acquire(key);
    await redis.del(key);
    expect(await first?.renew()).toBe(false);
    expect(first?.held).toBe(false);
    expect(await redis.exists(key)).toBe(0);
  });

  redisTest('a held lease renews itself in the background past its TTL', async ({ redis, prefix }) => {
    const ttlMs = 600;
    const lease = new RedisLease(redis, { ttlMs, renewEveryMs: 100 });
    const key = `${prefix}:lease`;
    const held = await lease.acquire(key);
    await waitForRenewals(() => redis.pttl(key), { renewals: 10, outlivedMs: ttlMs, intervalMs: 10 });
    expect(await lease.holder(key)).toBe(held?.token);
    expect(await held?.check()).toBe(true);
    await held?.release();
    expect(await redis.exists(key)).toBe(0);
  });

  redisTest('without renewal the lease lapses after its TTL', async ({ redis, prefix }) => {
    const lease = new RedisLease(redis, { ttlMs: 200, renewEveryMs: 0 });
    const key = `${prefix}:lease`;
    const held = await lease.acquire(key);
    await waitFor(async () => (await redis.exists(key)) === 0, { what: 'the lease to lapse' });
    expect(await held?.check()).toBe(false);
    expect(await lease.acquire(key)).toBeDefined();
  });
});
