import {
  businessSignature,
  type OrderNotice,
  openEnvelope,
  orderNoticeSchema,
  orderResultSchema,
  signEnvelope,
} from '@owc/protocol';
import { waitFor } from '@owc/testing';
import { afterEach, describe, expect, it } from 'vitest';
import {
  APP,
  fetchToken,
  get,
  post,
  Started,
  SKU as sku,
  receiver as startReceiver,
} from './owitho-sim.test-kit.js';
import { QUOTA_EXCEEDED_CODE, type StartedOwithoSim } from './start-owitho-sim.js';

const started = new Started();
afterEach(() => started.closeAll());

const sim = (options: Parameters<Started['sim']>[0] = {}) => started.sim(options);
const receiver = (answers?: Array<{ status: number; code: number }>) => startReceiver(started, answers);

function acked(s: StartedOwithoSim, id: string) {
  const state = s.sim.order(id);
  return state?.ackedAt !== undefined ? state : undefined;
}

describe('owitho-sim: access tokens', () => {
  it('issues a token; the previous one lives through the overlap, then dies', async () => {
    const s = await sim({ tokenOverlapMs: 300 });
    const first = await fetchToken(s.url);
    expect(first.code).toBe(200);
    expect(first.data?.expireTime).toBeGreaterThan(Date.now() + 3600_000);
    const second = await fetchToken(s.url);
    const old = first.data?.accessToken as string;
    const current = second.data?.accessToken as string;
    expect(s.sim.liveTokens()).toEqual([current, old]);
    const signedWithOld = signEnvelope({ skuList: [sku] }, APP, [old]);
    expect((await post(s.url, '/sku/sync', signedWithOld)).body.code).toBe(200);
    await waitFor(() => s.sim.liveTokens().length === 1);
    expect((await post(s.url, '/sku/sync', signEnvelope({ skuList: [sku] }, APP, [old]))).body.code).toBe(
      40002,
    );
    expect((await post(s.url, '/sku/sync', signEnvelope({ skuList: [sku] }, APP, [current]))).body.code).toBe(
      200,
    );
  });

  it('a token dies at its expiry', async () => {
    const s = await sim({ tokenLifetimeMs: 200 });
    const t = await fetchToken(s.url);
    expect(s.sim.liveTokens()).toEqual([t.data?.accessToken]);
    await waitFor(() => s.sim.liveTokens().length === 0);
  });

  it('revocation kills the live tokens', async () => {
    const s = await sim();
    const t = await fetchToken(s.url);
    s.sim.revokeCurrentToken();
    const r = await post(
      s.url,
      '/sku/sync',
      signEnvelope({ skuList: [sku] }, APP, [t.data?.accessToken as string]),
    );
    expect(r.body.code).toBe(40002);
    expect((await post(s.url, '/_sim/token/revoke', {})).status).toBe(200);
  });

  it('counts fetches and refuses past the daily quota', async () => {
    const s = await sim({ dailyTokenQuota: 5 });
    for (let i = 0; i < 5; i++) expect((await fetchToken(s.url)).code).toBe(200);
    const refused = await fetchToken(s.url);
    expect(refused.code).toBe(QUOTA_EXCEEDED_CODE);
    expect(refused.msg).toMatch(/quota exceeded/);
    expect(s.sim.tokenFetchCount()).toBe(5);
  });

  it('checks the token request: 40001, 40003, 40004, 40002', async () => {
    const s = await sim();
    expect((await fetchToken(s.url, { appId: 'other' })).code).toBe(40001);
    expect((await fetchToken(s.url, { salt: '999' })).code).toBe(40003);
    expect((await fetchToken(s.url, { utc: String(Date.now() - 301_000) })).code).toBe(40004);
    expect((await fetchToken(s.url, { signature: 'f'.repeat(32) })).code).toBe(40002);
    expect(s.sim.tokenFetchCount()).toBe(0);
  });
});

describe('owitho-sim: business endpoints', () => {
  it('answers every rejection code and keeps what it accepted', async () => {
    const s = await sim();
    const token = (await fetchToken(s.url)).data?.accessToken as string;
    const good = signEnvelope({ skuList: [sku] }, APP, [token]);
    expect((await post(s.url, '/sku/sync', { ...good, appId: 'x' })).body.code).toBe(40001);
    expect((await post(s.url, '/sku/sync', { ...good, salt: 10000 })).body.code).toBe(40003);
    expect(
      (
        await post(
          s.url,
          '/sku/sync',
          signEnvelope({ skuList: [sku] }, APP, [token], { now: Date.now() - 400_000 }),
        )
      ).body.code,
    ).toBe(40004);
    expect((await post(s.url, '/sku/sync', { ...good, signatures: ['0'.repeat(32)] })).body.code).toBe(40002);
    const bad = await post(
      s.url,
      '/sku/sync',
      signEnvelope({ skuList: [{ ...sku, originalPrice: '2.5' }] }, APP, [token]),
    );
    expect(bad.body).toMatchObject({ code: 40000 });
    expect(bad.body.msg).toMatch(/skuList\.0\.originalPrice/);
    expect(s.sim.catalogue()).toEqual([]);
    expect((await post(s.url, '/sku/sync', good)).body.code).toBe(200);
    expect(s.sim.catalogue()).toEqual([sku]);
    expect(s.sim.requestCounts()['/sku/sync']).toMatchObject({
      '200': 1,
      '40001': 1,
      '40002': 1,
      '40003': 1,
      '40004': 1,
      '40000': 1,
    });
    const layout = { machineCode: 'M9', machineStatus: 10, slotList: [] };
    expect((await post(s.url, '/machine/sync', signEnvelope(layout, APP, [token]))).body.code).toBe(200);
    expect(s.sim.machine('M9')).toEqual(layout);
  });

  it('keeps one layout per container: two containers of a machine never overwrite each other', async () => {
    const s = await sim();
    const token = (await fetchToken(s.url)).data?.accessToken as string;
    const b2 = { machineCode: 'M9', containerCode: 'B2', machineStatus: 10, slotList: [] };
    const a1 = { ...b2, containerCode: 'A1', machineStatus: 20 };
    for (const layout of [b2, a1, { ...b2, machineStatus: 30 }])
      expect((await post(s.url, '/machine/sync', signEnvelope(layout, APP, [token]))).body.code).toBe(200);
    expect(s.sim.containers('M9')).toEqual([a1, { ...b2, machineStatus: 30 }]);
    expect(s.sim.machine('M9')).toEqual(a1);
    expect((await get(s.url, '/_sim/machines/M9?containerCode=B2')).body).toMatchObject({
      machineStatus: 30,
    });
    expect((await get(s.url, '/_sim/machines/M9?containerCode=Z9')).status).toBe(404);
    expect((await get(s.url, '/_sim/state')).body).toMatchObject({
      machines: ['M9'],
      syncRequests: { machine: 3 },
    });
  });

  it('injects 503, 50002 and latency', async () => {
    const s = await sim();
    const token = (await fetchToken(s.url)).data?.accessToken as string;
    const callback = {
      orderViewId: 'O1',
      outStatus: 200,
      outDetailList: [{ slotNum: '01', skuCode: 'S1', status: 200 }],
    };
    expect((await post(s.url, '/_sim/faults', { status503: true, path: '/order/callback' })).status).toBe(
      200,
    );
    expect((await post(s.url, '/order/callback', signEnvelope(callback, APP, [token]))).status).toBe(503);
    expect((await post(s.url, '/_sim/faults', { callbackCode50002: true })).status).toBe(200);
    expect((await post(s.url, '/order/callback', signEnvelope(callback, APP, [token]))).body.code).toBe(
      50002,
    );
    await post(s.url, '/_sim/faults', { latencyMs: 150 });
    const t0 = performance.now();
    expect((await post(s.url, '/order/callback', signEnvelope(callback, APP, [token]))).body.code).toBe(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    expect(s.sim.callbacks('O1')).toEqual([callback]);
  });

  it('bad control input → 400 naming the field; junk bodies never crash it', async () => {
    const s = await sim({ thirdUrl: 'http://127.0.0.1:1' });
    const r = await post(s.url, '/_sim/faults', { errorRate: 2 });
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.body)).toMatch(/errorRate/);
    expect((await post(s.url, '/_sim/orders', { generate: 'many' })).status).toBe(400);
    expect((await post(s.url, '/_sim/stream', {})).status).toBe(400);
    const junk = await fetch(`${s.url}/order/callback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{',
    });
    expect(junk.status).toBe(400);
    expect((await post(s.url, '/order/callback', [1, 2])).body.code).toBe(40000);
  });
});

describe('owitho-sim: the order driver', () => {
  it('re-pushes until acked; notices verify against the token the third party fetched', async () => {
    const third = await receiver([
      { status: 503, code: 40000 },
      { status: 503, code: 40000 },
      { status: 200, code: 200 },
    ]);
    const s = await sim({ thirdUrl: third.url, noticeRetryMs: 30 });
    const token = (await fetchToken(s.url)).data?.accessToken as string;
    const [id] = s.sim.pushGenerated(1);
    const state = await waitFor(() => acked(s, id as string));
    expect(state.pushes).toBe(3);
    expect(state.answers).toEqual({ '503 40000': 2, '200 200': 1 });
    expect(state.lastRefusal).toBe('x');
    expect(third.notices).toHaveLength(3);
    for (const body of third.notices) {
      const opened = openEnvelope(
        body,
        { appId: APP.appId, tokens: [token], now: Date.now(), toleranceMs: 60_000 },
        orderNoticeSchema,
      );
      expect(opened.ok).toBe(true);
      if (opened.ok) {
        const n: OrderNotice = opened.payload;
        expect(n.orderViewId).toBe(id);
        const cents = n.orderDetailList.reduce(
          (sum, l) => sum + l.quantity * Math.round(Number(l.actualPrice) * 100),
          0,
        );
        expect(Math.round(Number(n.actualAmount) * 100)).toBe(cents);
      }
    }
    // a signature the receiver can recompute by hand
    const first = third.notices[0] as {
      appId: string;
      salt: number;
      utc: number;
      data: string;
      signatures: string[];
    };
    expect(first.signatures[0]).toBe(
      businessSignature({
        appId: APP.appId,
        accessToken: token,
        data: first.data,
        salt: first.salt,
        utc: first.utc,
      }),
    );
  });

  it('re-targeted, it pushes to the new third party only', async () => {
    const first = await receiver();
    const second = await receiver();
    const s = await sim({ thirdUrl: first.url, noticeRetryMs: 30 });
    await fetchToken(s.url);
    const [before] = s.sim.pushGenerated(1);
    await waitFor(() => acked(s, before as string));
    await s.sim.retarget(second.url);
    const [after] = s.sim.pushGenerated(1);
    await waitFor(() => acked(s, after as string));
    expect(first.notices).toHaveLength(1);
    expect(second.notices).toHaveLength(1);
    expect(JSON.parse((second.notices[0] as { data: string }).data).orderViewId).toBe(after);
  });

  it('a tolerant share: the raw JSON is what is pushed, and the record says what each order was', async () => {
    const third = await receiver([{ status: 200, code: 200 }]);
    const s = await sim({ thirdUrl: third.url, noticeRetryMs: 30, tolerantShare: 1 });
    await fetchToken(s.url);
    const ids = s.sim.pushGenerated(7);
    await waitFor(() => ids.every((id) => acked(s, id)));
    const sent = third.notices.map((body) => JSON.parse((body as { data: string }).data));
    expect(sent.map((n) => n.orderViewId)).toEqual(ids);
    for (const [i, id] of ids.entries()) {
      const state = s.sim.order(id);
      // the seed fleet has one container per machine: no container-of-several form
      expect(state?.generated?.form).toBe(
        [
          'amounts-without-decimals',
          'amounts-as-json-numbers',
          'unknown-pay-method',
          'unpaid-without-pay-time',
          'unknown-pay-status',
          'unknown-refund-status',
          'no-container',
        ][i],
      );
      expect(state?.notice).toBeUndefined();
      expect(sent[i]).toEqual(state?.raw);
    }
    expect(s.sim.order(ids[3] as string)?.generated).toMatchObject({ paid: false, dispensable: false });
  });

  it('waits for a token before it can push', async () => {
    const third = await receiver([{ status: 200, code: 200 }]);
    const s = await sim({ thirdUrl: third.url, noticeRetryMs: 30 });
    const [id] = s.sim.pushGenerated(1);
    // the driver tried (and found no token to sign with)
    await waitFor(() => s.sim.order(id as string)?.lastPushAt);
    expect(s.sim.order(id as string)?.lastPushResult).toMatch(/no live access token/);
    expect(third.notices).toHaveLength(0);
    expect(s.sim.order(id as string)?.pushes).toBe(0);
    expect(s.sim.state().orders).toMatchObject({ total: 1, pushed: 0, acked: 0 });
    await fetchToken(s.url);
    await waitFor(() => s.sim.order(id as string)?.ackedAt);
    expect(s.sim.order(id as string)?.pushes).toBe(1);
    expect(s.sim.state().orders).toMatchObject({ total: 1, pushed: 1, acked: 1 });
  });

  it('pushes duplicates on purpose, and asks order/query when no callback comes', async () => {
    const third = await receiver([{ status: 200, code: 200 }]);
    const s = await sim({ thirdUrl: third.url, noticeRetryMs: 30, duplicateRate: 1, queryAfterMs: 100 });
    await fetchToken(s.url);
    const ids = s.sim.pushGenerated(3);
    await waitFor(() => ids.every((id) => s.sim.order(id)?.queried));
    expect(third.notices.length).toBe(6);
    expect(third.queries).toHaveLength(3);
    for (const id of ids) {
      const q = s.sim.order(id)?.queried;
      expect(q?.code).toBe(200);
      expect(orderResultSchema.safeParse(q?.answer).success).toBe(true);
    }
  });

  it('records callbacks that validate against the protocol schema', async () => {
    const third = await receiver([{ status: 200, code: 200 }]);
    const s = await sim({ thirdUrl: third.url, noticeRetryMs: 30 });
    const token = (await fetchToken(s.url)).data?.accessToken as string;
    const [id] = s.sim.pushGenerated(1, { unpaid: true });
    const state = await waitFor(() => acked(s, id as string));
    expect(state.notice?.payStatus).toBe(0);
    const units =
      state.notice?.orderDetailList.flatMap((l) => Array.from({ length: l.quantity }, () => l)) ?? [];
    const callback = {
      orderViewId: id,
      outStatus: 400,
      outDetailList: units.map((u) => ({ slotNum: u.slotNum, skuCode: u.skuCode, status: 400 })),
    };
    expect((await post(s.url, '/order/callback', signEnvelope(callback, APP, [token]))).body.code).toBe(200);
    const recorded = s.sim.order(id as string);
    expect(recorded?.outStatus).toBe(400);
    expect(recorded?.unitStatuses).toEqual(units.map(() => 400));
    for (const c of recorded?.callbacks ?? [])
      expect(orderResultSchema.safeParse(c.payload).success).toBe(true);
  });
});
