import { Registry } from '@owc/observability';
import { fetchTokenWith, OwithoClient } from '@owc/owitho-client';
import { type StartedOwithoSim, startOwithoSim } from '@owc/owitho-sim';
import { type Sku, signEnvelope } from '@owc/protocol';
import { redisTest } from '@owc/testing';
import { TokenKeeper, TokenQuotaExceededError, tokenMetrics } from '@owc/token';
import { Redis } from 'ioredis';
import { describe, expect } from 'vitest';

const APP = { appId: 'app-it', secretKey: 'secret-it' };
const sku: Sku = {
  skuCode: 'S1',
  skuName: 'Cola',
  skuUnit: 'can',
  skuSpec: '330ml',
  originalPrice: '2.50',
  skuPic: 'https://img.example.com/s1.png',
};

interface Pod {
  redis: Redis;
  keeper: TokenKeeper;
  client: OwithoClient;
}

/** One "pod": its own Redis connection, keeper and client, like a separate process would have. */
function pod(
  redisUrl: string,
  prefix: string,
  sim: StartedOwithoSim,
  overrides: Partial<ConstructorParameters<typeof TokenKeeper>[0]> = {},
): Pod {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  let client: OwithoClient;
  const keeper = new TokenKeeper({
    redis,
    keyPrefix: prefix,
    fetchToken: fetchTokenWith({ getAccessToken: () => client.getAccessToken() }),
    overlapMs: 60_000,
    refreshMarginMs: 1000,
    dailyQuota: 2000,
    quotaWarnShare: 0.8,
    cacheMs: 0,
    pollMs: 20,
    metrics: tokenMetrics(new Registry()),
    ...overrides,
  });
  client = new OwithoClient({
    baseUrl: sim.url,
    ...APP,
    tokens: keeper,
    connectTimeoutMs: 1000,
    headersTimeoutMs: 5000,
    bodyTimeoutMs: 5000,
  });
  return { redis, keeper, client };
}

async function closePods(pods: Pod[]) {
  for (const p of pods) {
    await p.keeper.stop();
    await p.client.close();
    p.redis.disconnect();
  }
}

describe('token keeper + client against the owitho simulator', () => {
  redisTest('20 keepers starting at once: exactly one token fetch', async ({ redisUrl, prefix }) => {
    const sim = await startOwithoSim(APP);
    const pods = Array.from({ length: 20 }, () => pod(redisUrl, prefix, sim));
    const tokens = await Promise.all(pods.map((p) => p.keeper.currentToken()));
    expect(sim.sim.tokenFetchCount()).toBe(1);
    expect(new Set(tokens).size).toBe(1);
    await closePods(pods);
    await sim.close();
  });

  redisTest(
    'revoked token: 50 concurrent calls from 5 pods → one refresh by the keeper, every call succeeds',
    async ({ redisUrl, prefix }) => {
      const sim = await startOwithoSim(APP);
      const pods = Array.from({ length: 5 }, () => pod(redisUrl, prefix, sim));
      // two pods run the token role; business calls only ask them
      pods[0]?.keeper.start();
      pods[1]?.keeper.start();
      expect((await pods[0]?.client.syncSkus([sku]))?.kind).toBe('ok');
      expect(sim.sim.tokenFetchCount()).toBe(1);
      sim.sim.revokeCurrentToken();
      const outcomes = await Promise.all(
        Array.from({ length: 50 }, (_, i) => pods[i % 5]?.client.syncSkus([sku])),
      );
      expect(outcomes.map((o) => o?.kind)).toEqual(Array(50).fill('ok'));
      expect(sim.sim.tokenFetchCount()).toBe(2);
      expect(sim.sim.requestCounts()['/sku/sync']?.['40002']).toBe(50);
      await closePods(pods);
      await sim.close();
    },
  );

  redisTest(
    'proactive refresh: calls succeed through 3 refreshes; the old token verifies during each overlap',
    async ({ redisUrl, prefix }) => {
      // the keeper honours the old token a little less long than owitho does, as configured in production
      const sim = await startOwithoSim({ ...APP, tokenLifetimeMs: 1500, tokenOverlapMs: 800 });
      const p = pod(redisUrl, prefix, sim, { refreshMarginMs: 700, overlapMs: 400 });
      p.keeper.start();
      const seen = new Set<string>();
      const verifiedOld = new Set<string>();
      const deadline = Date.now() + 20_000;
      while (sim.sim.tokenFetchCount() < 4 || verifiedOld.size < 3) {
        if (Date.now() > deadline) throw new Error(`only ${sim.sim.tokenFetchCount()} fetches in time`);
        const [current, previous] = await p.keeper.honouredTokens();
        if (current) seen.add(current);
        if (previous) {
          // a request signed only with the old token still verifies during the overlap
          const res = await fetch(`${sim.url}/sku/sync`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(signEnvelope({ skuList: [sku] }, APP, [previous])),
          });
          expect(((await res.json()) as { code: number }).code).toBe(200);
          verifiedOld.add(previous);
        }
        expect((await p.client.syncSkus([sku])).kind).toBe('ok');
        await new Promise((r) => setTimeout(r, 25));
      }
      await p.keeper.stop();
      expect((await p.client.syncSkus([sku])).kind).toBe('ok');
      expect(sim.sim.tokenFetchCount()).toBe(4);
      expect(seen.size).toBe(4);
      // every refresh was proactive: no call was ever refused for its token
      expect(sim.sim.requestCounts()['/sku/sync']?.['40002'] ?? 0).toBe(0);
      await closePods([p]);
      await sim.close();
    },
  );

  redisTest(
    'quota 5: the 6th fetch is refused with a clear error and no request',
    async ({ redisUrl, prefix }) => {
      const sim = await startOwithoSim(APP);
      const p = pod(redisUrl, prefix, sim, { dailyQuota: 5 });
      let token = await p.keeper.currentToken();
      for (let i = 0; i < 4; i++) token = await p.keeper.refreshBecauseRejected(token);
      expect(sim.sim.tokenFetchCount()).toBe(5);
      const before = sim.sim.requestCounts()['/getAccessToken']?.['200'];
      await expect(p.keeper.refreshBecauseRejected(token)).rejects.toBeInstanceOf(TokenQuotaExceededError);
      expect(sim.sim.requestCounts()['/getAccessToken']?.['200']).toBe(before);
      expect(sim.sim.tokenFetchCount()).toBe(5);
      await closePods([p]);
      await sim.close();
    },
  );
});
