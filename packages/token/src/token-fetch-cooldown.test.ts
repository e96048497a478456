import { Registry } from '@owc/observability';
import type { AccessToken } from '@owc/protocol';
import { redisTest } from '@owc/testing';
import { describe, expect } from 'vitest';
import { TokenCoolingDownError } from './errors/token-cooling-down-error.js';
import { TokenUnavailableError } from './errors/token-unavailable-error.js';
import { credentialsFingerprint } from './fetch-health.js';
import { TokenKeeper, type TokenKeeperOptions } from './token-keeper.js';
import { tokenMetrics } from './token-metrics.js';

class RefusedError extends Error {
  constructor(readonly code: number) {
    super(`owitho answered ${code}`);
  }
}

/** An owitho whose getAccessToken refuses our signature until `fixed`; counts every attempt. */
function owitho() {
  let attempts = 0;
  let issued = 0;
  return {
    fixed: false,
    down: false,
    get attempts() {
      return attempts;
    },
    get issued() {
      return issued;
    },
    async fetch(this: { fixed: boolean; down: boolean }, now: number): Promise<AccessToken> {
      attempts++;
      if (this.down) throw new Error('network: ECONNREFUSED');
      if (!this.fixed) throw new RefusedError(40002);
      issued++;
      return { accessToken: `token-${issued}`, expireTime: now + 24 * 3600_000 };
    },
  };
}

const misconfigurationOf = (error: unknown) =>
  error instanceof RefusedError ? `owitho answered ${error.code}` : undefined;

function options(
  redis: TokenKeeperOptions['redis'],
  prefix: string,
  clock: { now: number },
  source: ReturnType<typeof owitho>,
  secret = 'wrong-secret',
): TokenKeeperOptions {
  return {
    redis,
    keyPrefix: prefix,
    fetchToken: () => source.fetch(clock.now),
    overlapMs: 60_000,
    refreshMarginMs: 600_000,
    dailyQuota: 2000,
    quotaWarnShare: 0.8,
    cacheMs: 0,
    waitMs: 0,
    metrics: tokenMetrics(new Registry()),
    backoff: { baseMs: 1000, maxMs: 600_000, jitter: 0.2 },
    misconfigurationOf,
    credentials: credentialsFingerprint('app', secret),
    now: () => clock.now,
    // the shortest waits the jitter allows: the worst case for the attempt count
    random: () => 0,
  };
}

describe('token fetches cannot run away', () => {
  redisTest(
    'wrong secret, orders flowing on 2 pods for 3 hours: ≤ 8 attempts in the first minute, ≤ 1 per 10 min after the first hour',
    async ({ redis, prefix }) => {
      const clock = { now: Date.UTC(2026, 0, 5, 8) };
      const start = clock.now;
      const source = owitho();
      const pods = Array.from({ length: 2 }, () => new TokenKeeper(options(redis, prefix, clock, source)));
      const attemptsAt: number[] = [];
      const horizon = 3 * 3600_000;
      while (clock.now - start < horizon) {
        const before = source.attempts;
        // business calls find no token: they ask and fail retryable, never fetch
        await expect(pods[attemptsAt.length % 2]?.tokensForCall()).rejects.toBeInstanceOf(
          TokenUnavailableError,
        );
        // every pod runs the token role
        for (const pod of pods) await pod.tick();
        for (let i = before; i < source.attempts; i++) attemptsAt.push(clock.now - start);
        // one simulated second per step for the first two minutes, then 30 s
        clock.now += clock.now - start < 120_000 ? 1000 : 30_000;
      }
      const firstMinute = attemptsAt.filter((t) => t < 60_000).length;
      expect(firstMinute).toBeGreaterThan(0);
      expect(firstMinute).toBeLessThanOrEqual(8);
      const afterAnHour = attemptsAt.filter((t) => t >= 3600_000);
      for (let i = 1; i < afterAnHour.length; i++) {
        expect((afterAnHour[i] as number) - (afterAnHour[i - 1] as number)).toBeGreaterThanOrEqual(600_000);
      }
      expect(afterAnHour.length).toBeGreaterThanOrEqual(2);
      expect(afterAnHour.length).toBeLessThanOrEqual(13);
      // refusals of our credentials issued nothing: not counted against the quota
      expect(await pods[0]?.fetchesToday()).toBe(0);
      const health = await pods[0]?.health();
      expect(health?.misconfiguration).toMatch(/40002/);
    },
  );

  redisTest(
    'the cooldown survives a restart with the same secret; a corrected secret fetches at once',
    async ({ redis, prefix }) => {
      const clock = { now: Date.UTC(2026, 0, 5, 8) };
      const source = owitho();
      const wrong = new TokenKeeper(options(redis, prefix, clock, source));
      for (let i = 0; i < 12; i++) {
        clock.now = Math.max(clock.now, (await wrong.health()).retryAt);
        await wrong.tick();
      }
      const attempts = source.attempts;
      clock.now += 1000;
      expect((await wrong.health()).retryAt - clock.now).toBeGreaterThan(500_000);
      // "restart" with the same wrong secret: still held back, no request
      const restarted = new TokenKeeper(options(redis, prefix, clock, source));
      await restarted.tick();
      await expect(restarted.currentToken()).rejects.toBeInstanceOf(TokenCoolingDownError);
      expect(source.attempts).toBe(attempts);
      // the operator fixes the secret and restarts: the next step fetches, same UTC day
      source.fixed = true;
      const fixed = new TokenKeeper(options(redis, prefix, clock, source, 'right-secret'));
      await fixed.tick();
      expect(source.attempts).toBe(attempts + 1);
      expect(await fixed.peekHonouredTokens()).toEqual(['token-1']);
      expect(await fixed.fetchesToday()).toBe(1);
      expect(await fixed.health()).toMatchObject({ failures: 0, retryAt: 0 });
      expect((await fixed.health()).misconfiguration).toBeUndefined();
    },
  );

  redisTest('the operator refresh ignores the cooldown', async ({ redis, prefix }) => {
    const clock = { now: Date.UTC(2026, 0, 5, 8) };
    const source = owitho();
    const keeper = new TokenKeeper(options(redis, prefix, clock, source));
    for (let i = 0; i < 5; i++) {
      await keeper.tick();
      clock.now = (await keeper.health()).retryAt;
    }
    await keeper.tick();
    expect(source.attempts).toBe(6);
    await expect(keeper.currentToken()).rejects.toBeInstanceOf(TokenCoolingDownError);
    source.fixed = true;
    const state = await keeper.refreshNow();
    expect(state.current).toBe('token-1');
    expect(source.attempts).toBe(7);
  });

  redisTest(
    'a failure that may have reached owitho is counted; a refused one is not',
    async ({ redis, prefix }) => {
      const clock = { now: Date.UTC(2026, 0, 5, 8) };
      const source = owitho();
      const keeper = new TokenKeeper(options(redis, prefix, clock, source));
      source.down = true;
      await keeper.tick();
      expect(await keeper.fetchesToday()).toBe(1);
      expect((await keeper.health()).misconfiguration).toBeUndefined();
      clock.now = (await keeper.health()).retryAt;
      source.down = false;
      await keeper.tick();
      expect(await keeper.fetchesToday()).toBe(1);
      expect((await keeper.health()).misconfiguration).toMatch(/40002/);
      expect(source.attempts).toBe(2);
    },
  );

  redisTest(
    'business calls never fetch: they wait for the keeper, and get its token',
    async ({ redis, prefix }) => {
      const source = owitho();
      source.fixed = true;
      const clock = {
        get now() {
          return Date.now();
        },
      };
      const caller = new TokenKeeper({ ...options(redis, prefix, clock, source), waitMs: 300 });
      await expect(caller.tokensForCall()).rejects.toBeInstanceOf(TokenUnavailableError);
      expect(source.attempts).toBe(0);
      const keeper = new TokenKeeper({ ...options(redis, prefix, clock, source), pollMs: 20 });
      const waiting = new TokenKeeper({
        ...options(redis, prefix, clock, source),
        waitMs: 5000,
      }).tokensForCall();
      keeper.start();
      expect(await waiting).toEqual(['token-1']);
      // a rejection of token-1 is served by the keeper too: one fetch for 20 callers
      const after = await Promise.all(
        Array.from({ length: 20 }, () =>
          new TokenKeeper({ ...options(redis, prefix, clock, source), waitMs: 5000 }).tokensAfterRejection(
            'token-1',
          ),
        ),
      );
      expect(new Set(after.map((t) => t[0]))).toEqual(new Set(['token-2']));
      expect(source.attempts).toBe(2);
      await keeper.stop();
    },
  );
});
