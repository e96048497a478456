import { Writable } from 'node:stream';
import { createLogger, Registry } from '@owc/observability';
import type { AccessToken } from '@owc/protocol';
import { taggedKey } from '@owc/redis';
import { redisTest, waitFor } from '@owc/testing';
import { Redis } from 'ioredis';
import { describe, expect } from 'vitest';
import { TokenQuotaExceededError } from './errors/token-quota-exceeded-error.js';
import { TokenUnavailableError } from './errors/token-unavailable-error.js';
import { TokenKeeper, type TokenKeeperOptions } from './token-keeper.js';
import { tokenMetrics } from './token-metrics.js';

/** A stand-in for owitho's getAccessToken that counts calls and is slow enough to race. */
function issuer(lifetimeMs = 60_000, latencyMs = 30) {
  let issued = 0;
  return {
    get count() {
      return issued;
    },
    fetch: async (): Promise<AccessToken> => {
      issued++;
      const n = issued;
      await new Promise((r) => setTimeout(r, latencyMs));
      return { accessToken: `token-${n}`, expireTime: Date.now() + lifetimeMs };
    },
  };
}

function keeperOptions(
  redis: Redis,
  prefix: string,
  fetchToken: () => Promise<AccessToken>,
): TokenKeeperOptions {
  return {
    redis,
    keyPrefix: prefix,
    fetchToken,
    overlapMs: 60_000,
    refreshMarginMs: 1000,
    dailyQuota: 2000,
    quotaWarnShare: 0.8,
    cacheMs: 0,
    metrics: tokenMetrics(new Registry()),
  };
}

describe('TokenKeeper', () => {
  redisTest(
    '20 keepers on separate connections starting at once fetch exactly once',
    async ({ redisUrl, prefix }) => {
      const source = issuer();
      const connections = Array.from(
        { length: 20 },
        () => new Redis(redisUrl, { maxRetriesPerRequest: null }),
      );
      const keepers = connections.map((redis) => new TokenKeeper(keeperOptions(redis, prefix, source.fetch)));
      const tokens = await Promise.all(keepers.map((k) => k.currentToken()));
      expect(source.count).toBe(1);
      expect(new Set(tokens)).toEqual(new Set(['token-1']));
      expect(await keepers[0]?.fetchesToday()).toBe(1);
      for (const c of connections) c.disconnect();
    },
  );

  redisTest(
    'concurrent rejections of one token across pods cause one refresh',
    async ({ redisUrl, prefix }) => {
      const source = issuer();
      const connections = Array.from(
        { length: 5 },
        () => new Redis(redisUrl, { maxRetriesPerRequest: null }),
      );
      const keepers = connections.map((redis) => new TokenKeeper(keeperOptions(redis, prefix, source.fetch)));
      const first = await keepers[0]?.currentToken();
      const renewed = await Promise.all(
        Array.from({ length: 50 }, (_, i) => keepers[i % 5]?.refreshBecauseRejected(first as string)),
      );
      expect(source.count).toBe(2);
      expect(new Set(renewed)).toEqual(new Set(['token-2']));
      // a late rejection of the old token does not fetch again
      expect(await keepers[3]?.refreshBecauseRejected(first as string)).toBe('token-2');
      expect(source.count).toBe(2);
      for (const c of connections) c.disconnect();
    },
  );

  redisTest('the previous token is honoured during its overlap, then dropped', async ({ redis, prefix }) => {
    let now = 1_700_000_000_000;
    const source = issuer();
    const keeper = new TokenKeeper({
      ...keeperOptions(redis, prefix, async () => {
        const t = await source.fetch();
        return { ...t, expireTime: now + 60_000 };
      }),
      overlapMs: 5000,
      now: () => now,
    });
    expect(await keeper.honouredTokens()).toEqual(['token-1']);
    await keeper.refreshBecauseRejected('token-1');
    expect(await keeper.honouredTokens()).toEqual(['token-2', 'token-1']);
    expect(await keeper.peekHonouredTokens()).toEqual(['token-2', 'token-1']);
    now += 5001;
    expect(await keeper.honouredTokens()).toEqual(['token-2']);
  });

  redisTest(
    'an expired token is replaced on use even without the proactive loop',
    async ({ redis, prefix }) => {
      let now = 1_700_000_000_000;
      const source = issuer();
      const keeper = new TokenKeeper({
        ...keeperOptions(redis, prefix, async () => {
          await source.fetch();
          return { accessToken: `token-${source.count}`, expireTime: now + 10_000 };
        }),
        now: () => now,
      });
      expect(await keeper.currentToken()).toBe('token-1');
      now += 9_999;
      expect(await keeper.currentToken()).toBe('token-1');
      now += 1;
      expect(await keeper.peekHonouredTokens()).toEqual(['token-1']);
      expect(source.count).toBe(1);
      expect(await keeper.currentToken()).toBe('token-2');
      expect(source.count).toBe(2);
    },
  );

  redisTest('refreshes proactively inside the margin, not before', async ({ redis, prefix }) => {
    let now = 1_700_000_000_000;
    const source = issuer();
    const keeper = new TokenKeeper({
      ...keeperOptions(redis, prefix, async () => {
        await source.fetch();
        return { accessToken: `token-${source.count}`, expireTime: now + 10_000 };
      }),
      refreshMarginMs: 2000,
      now: () => now,
    });
    expect(await keeper.refreshIfDue()).toBe(true);
    now += 7000;
    expect(await keeper.refreshIfDue()).toBe(false);
    now += 1500;
    expect(await keeper.refreshIfDue()).toBe(true);
    expect(source.count).toBe(2);
    expect(await keeper.peekHonouredTokens()).toEqual(['token-2', 'token-1']);
  });

  redisTest('at the quota it refuses without calling owitho', async ({ redis, prefix }) => {
    const source = issuer();
    const keeper = new TokenKeeper({ ...keeperOptions(redis, prefix, source.fetch), dailyQuota: 5 });
    let token = await keeper.currentToken();
    for (let i = 0; i < 4; i++) token = await keeper.refreshBecauseRejected(token);
    expect(source.count).toBe(5);
    const refused = keeper.refreshBecauseRejected(token);
    await expect(refused).rejects.toBeInstanceOf(TokenQuotaExceededError);
    await expect(keeper.refreshBecauseRejected(token)).rejects.toThrow(/5 of 5 fetches used today/);
    expect(source.count).toBe(5);
    expect(await keeper.fetchesToday()).toBe(5);
  });

  redisTest('peekHonouredTokens never fetches', async ({ redis, prefix }) => {
    const source = issuer();
    const keeper = new TokenKeeper(keeperOptions(redis, prefix, source.fetch));
    expect(await keeper.peekHonouredTokens()).toEqual([]);
    expect(source.count).toBe(0);
  });

  redisTest(
    'past the warning share it warns and counts in a metric; tokens never reach the log',
    async ({ redis, prefix }) => {
      const lines: string[] = [];
      const destination = new Writable({
        write(chunk, _encoding, done) {
          lines.push(String(chunk));
          done();
        },
      });
      const logger = createLogger({ level: 'debug', name: 'token-test', destination });
      const metrics = new Registry();
      const source = issuer();
      const keeper = new TokenKeeper({
        ...keeperOptions(redis, prefix, source.fetch),
        dailyQuota: 5,
        quotaWarnShare: 0.6,
        logger,
        metrics: tokenMetrics(metrics),
      });
      let token = await keeper.currentToken();
      token = await keeper.refreshBecauseRejected(token);
      const warnings = () => lines.filter((l) => l.includes('past the warning share'));
      expect(warnings()).toHaveLength(0);
      token = await keeper.refreshBecauseRejected(token); // 3 of 5 = 0.6
      expect(warnings()).toHaveLength(1);
      token = await keeper.refreshBecauseRejected(token);
      token = await keeper.refreshBecauseRejected(token);
      await expect(keeper.refreshBecauseRejected(token)).rejects.toBeInstanceOf(TokenQuotaExceededError);
      expect(warnings()).toHaveLength(3);
      expect(lines.some((l) => l.includes('quota reached'))).toBe(true);
      const text = await metrics.metrics();
      expect(text).toMatch(/owc_token_fetches_today 5/);
      expect(text).toMatch(/owc_token_quota_warnings_total 4/);
      expect(text).toMatch(/owc_token_quota 5/);
      const log = lines.join('');
      for (let n = 1; n <= 5; n++) expect(log).not.toContain(`token-${n}`);
    },
  );

  redisTest(
    'a writer that lost the lock during a slow fetch does not overwrite the newer token (fencing)',
    async ({ redisUrl, prefix }) => {
      const slowConn = new Redis(redisUrl, { maxRetriesPerRequest: null });
      const fastConn = new Redis(redisUrl, { maxRetriesPerRequest: null });
      let releaseSlow: () => void = () => {};
      let slowStarted = false;
      const slow = new TokenKeeper({
        ...keeperOptions(slowConn, prefix, async () => {
          slowStarted = true;
          await new Promise<void>((r) => {
            releaseSlow = r;
          });
          return { accessToken: 'slow-token', expireTime: Date.now() + 60_000 };
        }),
        lockTtlMs: 100,
      });
      const fast = new TokenKeeper({
        ...keeperOptions(fastConn, prefix, async () => ({
          accessToken: 'fast-token',
          expireTime: Date.now() + 60_000,
        })),
        lockTtlMs: 5000,
      });
      const slowResult = slow.currentToken();
      await waitFor(() => slowStarted);
      // the slow holder's lock expires; the other pod takes it and writes its token
      expect(await fast.currentToken()).toBe('fast-token');
      releaseSlow();
      // the slow writer's fenced write is refused: it returns the token that is in Redis
      expect(await slowResult).toBe('fast-token');
      expect(await fast.honouredTokens()).toEqual(['fast-token']);
      slowConn.disconnect();
      fastConn.disconnect();
    },
  );

  redisTest(
    'a waiter gives up with TokenUnavailableError when no refresh lands in time',
    async ({ redis, prefix }) => {
      const keeper = new TokenKeeper({
        ...keeperOptions(redis, prefix, issuer().fetch),
        waitMs: 200,
      });
      // another process holds the lock and never writes
      await redis.set(taggedKey(prefix, 'token', 'lock'), 'someone-else', 'PX', 10_000);
      await expect(keeper.currentToken()).rejects.toBeInstanceOf(TokenUnavailableError);
    },
  );
});
