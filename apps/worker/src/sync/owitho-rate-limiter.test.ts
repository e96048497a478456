import { redisTest } from '@owc/testing';
import { describe, expect } from 'vitest';
import { OwithoRateLimiter, owithoRateKey } from './owitho-rate-limiter.js';

describe('OwithoRateLimiter', () => {
  redisTest(
    'one budget for every pod: 3 limiters on 3 connections together never pass the rate',
    async ({ redis, prefix }) => {
      const connections = [redis, redis.duplicate(), redis.duplicate()];
      let waits = 0;
      const limiters = connections.map(
        (c) =>
          new OwithoRateLimiter({
            redis: c,
            keyPrefix: prefix,
            perSecond: 20,
            capacity: 1,
            onWait: () => waits++,
          }),
      );
      try {
        const started = Date.now();
        const at: number[] = [];
        await Promise.all(
          limiters.map(async (limiter) => {
            for (let k = 0; k < 4; k++) {
              await limiter.acquire();
              at.push(Date.now());
            }
          }),
        );
        // 12 calls at 20/s with a burst of 1: the 12th cannot pass before 11 × 50 ms
        expect(at).toHaveLength(12);
        expect(Math.max(...at) - started).toBeGreaterThanOrEqual(11 * 50 - 20);
        expect(waits).toBeGreaterThan(0);
        expect(await redis.pttl(owithoRateKey(prefix))).toBeGreaterThan(0);
      } finally {
        for (const c of connections.slice(1)) c.disconnect();
      }
    },
  );

  redisTest('an aborted wait returns early', async ({ redis, prefix }) => {
    let waits = 0;
    const limiter = new OwithoRateLimiter({
      redis,
      keyPrefix: prefix,
      perSecond: 1,
      capacity: 1,
      onWait: () => waits++,
    });
    await limiter.acquire();
    const abort = new AbortController();
    const pending = limiter.acquire(abort.signal);
    abort.abort();
    await expect(pending).resolves.toBeUndefined();
    // it gave up: no spinning on the empty bucket until the next token
    expect(waits).toBeLessThanOrEqual(1);
  });
});
