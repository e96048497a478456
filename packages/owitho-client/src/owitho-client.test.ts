import { Registry } from '@owc/observability';
import { type OrderResult, openEnvelope, orderResultSchema } from '@owc/protocol';
import { redisTest } from '@owc/testing';
import { TokenKeeper, tokenMetrics } from '@owc/token';
import Fastify, { type FastifyInstance } from 'fastify';
import { describe, expect } from 'vitest';
import { OwithoCallError } from './errors/owitho-call-error.js';
import { OwithoClient, type TokenSource } from './owitho-client.js';

const result: OrderResult = {
  orderViewId: 'O1',
  outStatus: 200,
  outDetailList: [{ slotNum: '01', skuCode: 'COLA', status: 200 }],
};

/** A scripted owitho: answers each business call with the next entry of `script`. */
async function fakeOwitho(script: Array<{ status?: number; body?: unknown; hangMs?: number }>) {
  const app: FastifyInstance = Fastify();
  const bodies: unknown[] = [];
  let i = 0;
  app.post('/order/callback', async (req, reply) => {
    const step = script[Math.min(i++, script.length - 1)] ?? {};
    bodies.push(req.body);
    if (step.hangMs) await new Promise((r) => setTimeout(r, step.hangMs));
    return reply.code(step.status ?? 200).send(step.body ?? { code: 200, msg: 'success' });
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, app, bodies, calls: () => i };
}

function staticTokens(tokens: string[]): TokenSource & { refreshed: string[] } {
  const refreshed: string[] = [];
  return {
    refreshed,
    tokensForCall: async () => tokens,
    tokensAfterRejection: async (failed) => {
      refreshed.push(failed);
      tokens = ['fresh-token'];
      return tokens;
    },
  };
}

function client(url: string, tokens: TokenSource, timeoutMs = 2000) {
  return new OwithoClient({
    baseUrl: url,
    appId: 'app',
    secretKey: 'secret',
    tokens,
    connectTimeoutMs: 1000,
    headersTimeoutMs: timeoutMs,
    bodyTimeoutMs: timeoutMs,
  });
}

describe('OwithoClient classification', () => {
  redisTest('ok: code 200 (also as the string "200"), signed with every honoured token', async () => {
    const owitho = await fakeOwitho([{ body: { code: '200', msg: 'success' } }]);
    const c = client(owitho.url, staticTokens(['current', 'previous']));
    expect(await c.sendOrderCallback(result)).toEqual({ kind: 'ok', code: 200 });
    const opened = openEnvelope(
      owitho.bodies[0],
      { appId: 'app', tokens: ['previous'], now: Date.now(), toleranceMs: 5000 },
      orderResultSchema,
    );
    expect(opened.ok).toBe(true);
    await c.close();
    await owitho.app.close();
  });

  redisTest('retryable: 5xx, 50002, 50001, 40000, a timeout and a refused connection', async () => {
    const owitho = await fakeOwitho([
      { status: 503, body: 'busy' },
      { body: { code: 50002, msg: 'order callback failed' } },
      { body: { code: 50001, msg: 'sku sync failed' } },
      { body: { code: 40000, msg: 'request failed' } },
      { hangMs: 1500 },
    ]);
    const c = client(owitho.url, staticTokens(['t']), 300);
    expect(await c.sendOrderCallback(result)).toMatchObject({ kind: 'retryable', status: 503 });
    expect(await c.sendOrderCallback(result)).toMatchObject({ kind: 'retryable', code: 50002 });
    expect(await c.sendOrderCallback(result)).toMatchObject({ kind: 'retryable', code: 50001 });
    expect(await c.sendOrderCallback(result)).toMatchObject({ kind: 'retryable', code: 40000 });
    expect(await c.sendOrderCallback(result)).toMatchObject({
      kind: 'retryable',
      reason: expect.stringMatching(/network/),
    });
    await c.close();
    await owitho.app.close();
    const refused = client(owitho.url, staticTokens(['t']));
    expect(await refused.sendOrderCallback(result)).toMatchObject({
      kind: 'retryable',
      reason: 'network: ECONNREFUSED',
    });
    await refused.close();
  });

  redisTest('40004 is retried once with a fresh utc; still 40004 is retryable', async () => {
    const owitho = await fakeOwitho([{ body: { code: 40004, msg: 'utc expired' } }, { body: { code: 200 } }]);
    const c = client(owitho.url, staticTokens(['t']));
    expect(await c.sendOrderCallback(result)).toMatchObject({ kind: 'ok' });
    expect(owitho.calls()).toBe(2);
    await c.close();
    await owitho.app.close();
    const always = await fakeOwitho([{ body: { code: 40004, msg: 'utc expired' } }]);
    const c2 = client(always.url, staticTokens(['t']));
    expect(await c2.sendOrderCallback(result)).toMatchObject({ kind: 'retryable', code: 40004 });
    expect(always.calls()).toBe(2);
    await c2.close();
    await always.app.close();
  });

  redisTest('40002: one compare-and-refresh and one retry, then token-rejected', async () => {
    const owitho = await fakeOwitho([{ body: { code: 40002 } }, { body: { code: 200 } }]);
    const tokens = staticTokens(['stale']);
    const c = client(owitho.url, tokens);
    expect(await c.sendOrderCallback(result)).toMatchObject({ kind: 'ok' });
    expect(tokens.refreshed).toEqual(['stale']);
    await c.close();
    await owitho.app.close();
    const always = await fakeOwitho([{ body: { code: 40002, msg: 'signature verification failed' } }]);
    const tokens2 = staticTokens(['stale']);
    const c2 = client(always.url, tokens2);
    expect(await c2.sendOrderCallback(result)).toMatchObject({ kind: 'token-rejected', code: 40002 });
    expect(tokens2.refreshed).toEqual(['stale']);
    expect(always.calls()).toBe(2);
    await c2.close();
    await always.app.close();
  });

  redisTest('permanent: 40001, 40003, a 4xx; reasons never carry tokens or the secret', async () => {
    const owitho = await fakeOwitho([
      { body: { code: 40001, msg: 'appid does not exist' } },
      { body: { code: 40003 } },
      { status: 404, body: 'no' },
    ]);
    const c = client(owitho.url, staticTokens(['tok-SECRETISH']));
    const outcomes = [
      await c.sendOrderCallback(result),
      await c.sendOrderCallback(result),
      await c.sendOrderCallback(result),
    ];
    expect(outcomes.map((o) => o.kind)).toEqual(['permanent', 'permanent', 'permanent']);
    expect(outcomes[0]).toMatchObject({ code: 40001 });
    expect(outcomes[2]).toMatchObject({ status: 404 });
    expect(JSON.stringify(outcomes)).not.toMatch(/tok-SECRETISH|secret/);
    await c.close();
    await owitho.app.close();
  });

  redisTest('getAccessToken failures throw a classified OwithoCallError', async ({ redis, prefix }) => {
    const c = client('http://127.0.0.1:1', staticTokens([]));
    const error = await c.getAccessToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OwithoCallError);
    expect((error as OwithoCallError).outcome.kind).toBe('retryable');
    // and a keeper whose fetch fails reports it to the caller, with nothing written
    const keeper = new TokenKeeper({
      redis,
      keyPrefix: prefix,
      fetchToken: () => c.getAccessToken(),
      overlapMs: 1000,
      refreshMarginMs: 1000,
      dailyQuota: 10,
      quotaWarnShare: 0.8,
      cacheMs: 0,
      metrics: tokenMetrics(new Registry()),
    });
    await expect(keeper.currentToken()).rejects.toBeInstanceOf(OwithoCallError);
    expect(await keeper.peekHonouredTokens()).toEqual([]);
    await c.close();
  });
});
