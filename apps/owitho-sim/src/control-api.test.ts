import {
  type MachineLayout,
  type OrderNotice,
  openEnvelope,
  orderNoticeSchema,
  signEnvelope,
} from '@owc/protocol';
import { waitFor } from '@owc/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { APP, fetchToken, get, post, receiver, SKU, Started, tokenOf } from './owitho-sim.test-kit.js';

const started = new Started();
afterEach(() => started.closeAll());

const layout: MachineLayout = {
  machineCode: 'M9',
  containerCode: '02',
  machineStatus: 10,
  slotList: [
    {
      slotNum: '1',
      row: 1,
      col: 1,
      skuCode: 'A',
      skuName: 'a',
      originalPrice: '3.00',
      actualPrice: '2.80',
      maxInventory: 5,
      currentInventory: 5,
      slotStatus: 0,
    },
    {
      slotNum: '2',
      row: 1,
      col: 2,
      skuCode: 'B',
      skuName: 'b',
      originalPrice: '2.50',
      actualPrice: '2.50',
      maxInventory: 5,
      currentInventory: 5,
      slotStatus: 0,
    },
  ],
};

function openNotice(body: unknown, token: string, now = Date.now()): OrderNotice {
  const opened = openEnvelope(
    body,
    { appId: APP.appId, tokens: [token], now, toleranceMs: 60_000 },
    orderNoticeSchema,
  );
  if (!opened.ok) throw new Error(`notice does not open: ${opened.code} ${opened.msg}`);
  return opened.payload;
}

describe('owitho-sim: tokens (more)', () => {
  it('a third fetch kills the oldest token at once, and reset forgets every token and count', async () => {
    const s = await started.sim({ tokenOverlapMs: 60_000 });
    const t1 = await tokenOf(s.url);
    const t2 = await tokenOf(s.url);
    const t3 = await tokenOf(s.url);
    expect(s.sim.liveTokens()).toEqual([t3, t2]);
    const sync = (t: string) => post(s.url, '/sku/sync', signEnvelope({ skuList: [SKU] }, APP, [t]));
    expect((await sync(t1)).body.code).toBe(40002);
    expect((await sync(t2)).body.code).toBe(200);
    expect((await get(s.url, '/_sim/state')).body).toMatchObject({
      tokenFetches: 3,
      tokenFetchesToday: 3,
      liveTokenCount: 2,
      catalogueSize: 1,
    });
    expect((await post(s.url, '/_sim/reset', {})).status).toBe(200);
    expect(s.sim.tokenFetchCount()).toBe(0);
    expect(s.sim.liveTokens()).toEqual([]);
    expect(s.sim.catalogue()).toEqual([]);
    expect((await sync(t3)).body.code).toBe(40002);
  });

  it('revocation over the control API: the next signed call fails 40002 until a new fetch', async () => {
    const s = await started.sim();
    const t = await tokenOf(s.url);
    expect((await post(s.url, '/_sim/token/revoke', {})).body).toEqual({ revoked: true });
    const sync = (tok: string) => post(s.url, '/sku/sync', signEnvelope({ skuList: [SKU] }, APP, [tok]));
    expect((await sync(t)).body.code).toBe(40002);
    expect((await sync(await tokenOf(s.url))).body.code).toBe(200);
  });
});

describe('owitho-sim: faults (more)', () => {
  it('hang: no answer until the fault is cleared; the control API still answers', async () => {
    const s = await started.sim();
    await post(s.url, '/_sim/faults', { hang: true, path: '/sku/sync' });
    const token = await tokenOf(s.url); // other paths are not affected
    const body = JSON.stringify(signEnvelope({ skuList: [SKU] }, APP, [token]));
    const init = { method: 'POST', headers: { 'content-type': 'application/json' }, body };
    // a client that gives up after 300 ms sees no answer
    await expect(fetch(`${s.url}/sku/sync`, { ...init, signal: AbortSignal.timeout(300) })).rejects.toThrow();
    const pending = fetch(`${s.url}/sku/sync`, init);
    await waitFor(() => s.sim.state().heldRequests === 2);
    expect((await get(s.url, '/_sim/state')).body).toMatchObject({ heldRequests: 2 });
    expect((await post(s.url, '/_sim/faults', {}, 'DELETE')).status).toBe(200);
    expect((await pending).status).toBe(503);
    expect((await post(s.url, '/sku/sync', JSON.parse(body))).body.code).toBe(200);
    await waitFor(() => s.sim.requestCounts()['/sku/sync']?.hang === 2);
  });

  it('close() ends hung requests and returns', async () => {
    const s = await started.sim({ faults: { hang: true } });
    const pending = fetch(`${s.url}/getAccessToken`).then(
      (r) => r.status,
      () => 'closed',
    );
    await waitFor(() => s.sim.state().heldRequests === 1);
    await s.close();
    expect([503, 'closed']).toContain(await pending);
  });

  it('clock skew shifts the utc it checks and the utc it stamps', async () => {
    const third = await receiver(started);
    const skew = 400_000;
    const s = await started.sim({ thirdUrl: third.url, noticeRetryMs: 30, faults: { clockSkewMs: skew } });
    expect((await fetchToken(s.url)).code).toBe(40004);
    const answer = await fetchToken(s.url, {}, Date.now() + skew);
    expect(answer.code).toBe(200);
    const token = answer.data?.accessToken as string;
    const sync = (now: number) =>
      post(s.url, '/sku/sync', signEnvelope({ skuList: [SKU] }, APP, [token], { now }));
    expect((await sync(Date.now())).body.code).toBe(40004);
    expect((await sync(Date.now() + skew)).body.code).toBe(200);
    s.sim.pushGenerated(1);
    await waitFor(() => third.notices.length === 1);
    const notice = third.notices[0] as { utc: number };
    expect(notice.utc - Date.now()).toBeGreaterThan(skew - 60_000);
    expect(openNotice(notice, token, Date.now() + skew).orderViewId).toBeTruthy();
  });

  it('an error rate of 1 answers HTTP 500 on the targeted path only; counts per path and code', async () => {
    const s = await started.sim();
    const token = await tokenOf(s.url);
    s.sim.setFaults({ errorRate: 1, path: '/machine/sync' });
    expect((await post(s.url, '/machine/sync', signEnvelope(layout, APP, [token]))).status).toBe(500);
    expect((await post(s.url, '/sku/sync', signEnvelope({ skuList: [SKU] }, APP, [token]))).status).toBe(200);
    expect((await get(s.url, '/_sim/requests')).body).toEqual({
      '/getAccessToken': { '200': 1 },
      '/machine/sync': { http500: 1 },
      '/sku/sync': { '200': 1 },
    });
    s.sim.clearFaults();
    expect((await post(s.url, '/machine/sync', signEnvelope(layout, APP, [token]))).body.code).toBe(200);
    expect((await get(s.url, '/_sim/machines/M9')).body).toEqual(layout);
    expect((await get(s.url, '/_sim/machines')).body).toEqual([layout]);
  });
});

describe('owitho-sim: control API', () => {
  it('pushes generated orders for a chosen machine from the layouts it received, and given notices', async () => {
    const third = await receiver(started);
    const s = await started.sim({ thirdUrl: third.url, noticeRetryMs: 30 });
    const token = await tokenOf(s.url);
    expect((await post(s.url, '/machine/sync', signEnvelope(layout, APP, [token]))).body.code).toBe(200);
    const pushed = await post(s.url, '/_sim/orders', { generate: 20, machineCode: 'M9' });
    expect(pushed.status).toBe(202);
    const ids = pushed.body.orderViewIds as string[];
    expect(new Set(ids).size).toBe(20);
    await waitFor(() => ids.every((id) => s.sim.order(id)?.ackedAt !== undefined));
    const prices = new Map(layout.slotList.map((slot) => [slot.skuCode, slot.actualPrice]));
    for (const body of third.notices) {
      const n = openNotice(body, token);
      expect(n).toMatchObject({ machineCode: 'M9', containerCode: '02', payStatus: 1, refundStatus: 0 });
      for (const line of n.orderDetailList) expect(prices.get(line.skuCode)).toBe(line.actualPrice);
    }

    const notice = { ...openNotice(third.notices[0], token), orderViewId: 'GIVEN-1' };
    expect((await post(s.url, '/_sim/orders', { orders: [notice] })).body).toEqual({
      orderViewIds: ['GIVEN-1'],
    });
    await waitFor(() => s.sim.order('GIVEN-1')?.ackedAt);
    // the same orderViewId again is not a new order
    await post(s.url, '/_sim/orders', { orders: [notice] });
    const state = (await get(s.url, '/_sim/orders/GIVEN-1')).body;
    expect(state).toMatchObject({ orderViewId: 'GIVEN-1', pushes: 1, notice });
    expect(third.notices.map((b) => openNotice(b, token).orderViewId)).toContain('GIVEN-1');
    expect((await get(s.url, '/_sim/orders/NOPE')).status).toBe(404);

    const unknown = await post(s.url, '/_sim/orders', { generate: 1, machineCode: 'M404' });
    expect(unknown).toMatchObject({ status: 400, body: { field: 'machineCode' } });
  });

  it('streams generated orders at a rate until stopped', async () => {
    const third = await receiver(started);
    const s = await started.sim({ thirdUrl: third.url, noticeRetryMs: 30 });
    await tokenOf(s.url);
    const on = await post(s.url, '/_sim/stream', { ratePerSec: 200, unpaid: true });
    expect(on).toMatchObject({ status: 200, body: { stream: { ratePerSec: 200, unpaid: true } } });
    await waitFor(() => s.sim.orders().filter((o) => o.ackedAt !== undefined).length >= 10);
    expect(s.sim.orders().every((o) => o.notice?.payStatus === 0)).toBe(true);
    expect((await get(s.url, '/_sim/stream')).body).toEqual({ stream: { ratePerSec: 200, unpaid: true } });
    expect((await post(s.url, '/_sim/stream', {}, 'DELETE')).body).toEqual({ stream: null });
    expect((await get(s.url, '/_sim/state')).body).toMatchObject({ stream: null });
    const bad = await post(s.url, '/_sim/stream', { ratePerSec: 5, machineCode: 'M404' });
    expect(bad).toMatchObject({ status: 400, body: { field: 'machineCode' } });
  });

  it('gives a notice up after maxPushesPerOrder pushes', async () => {
    const third = await receiver(started, [{ status: 503, code: 40000 }]);
    const s = await started.sim({ thirdUrl: third.url, noticeRetryMs: 20, maxPushesPerOrder: 3 });
    await tokenOf(s.url);
    const [id] = s.sim.pushGenerated(1);
    const state = await waitFor(() => {
      const o = s.sim.order(id as string);
      return o?.lastPushResult?.startsWith('given up') ? o : undefined;
    });
    expect(state).toMatchObject({ pushes: 3, lastPushResult: 'given up after 3 pushes' });
    expect(state.ackedAt).toBeUndefined();
    expect(third.notices).toHaveLength(3);
    expect(s.sim.state().orders).toMatchObject({ total: 1, acked: 0, unacked: 0 });
  });

  it('without a thirdUrl: 409 on the control API, a clear error in-process', async () => {
    const s = await started.sim();
    expect((await post(s.url, '/_sim/orders', { generate: 1 })).status).toBe(409);
    expect((await post(s.url, '/_sim/stream', { ratePerSec: 1 })).status).toBe(409);
    expect(() => s.sim.pushGenerated(1)).toThrow(/thirdUrl/);
    expect(() => s.sim.startStream({ ratePerSec: 1 })).toThrow(/thirdUrl/);
  });

  it('bad control input → 400 naming the field', async () => {
    const s = await started.sim({ thirdUrl: 'http://127.0.0.1:1' });
    const cases: Array<[string, unknown, string]> = [
      ['/_sim/orders', { generate: 'many' }, 'generate'],
      ['/_sim/orders', { generate: 0 }, 'generate'],
      ['/_sim/orders', { orders: [{ orderViewId: 'x' }] }, 'orders.0.machineCode'],
      ['/_sim/orders', [1], '(body)'],
      ['/_sim/faults', { latencyMs: -1 }, 'latencyMs'],
      ['/_sim/faults', { errorRate: 2 }, 'errorRate'],
      ['/_sim/faults', { path: 'order/callback' }, 'path'],
      ['/_sim/faults', 'hang', '(body)'],
      ['/_sim/stream', { ratePerSec: 0 }, 'ratePerSec'],
      ['/_sim/stream', {}, 'ratePerSec'],
    ];
    for (const [path, body, field] of cases) {
      const r = await post(s.url, path, body);
      expect({ path, body, status: r.status, field: r.body.field }).toEqual({
        path,
        body,
        status: 400,
        field,
      });
      expect(String(r.body.message)).toContain(field === '(body)' ? '' : field.split('.').pop());
    }
    const unknownKey = await post(s.url, '/_sim/faults', { bogus: 1 });
    expect(unknownKey.status).toBe(400);
    expect(String(unknownKey.body.message)).toMatch(/bogus/);
  });

  it('no request body crashes it', async () => {
    const s = await started.sim({ thirdUrl: 'http://127.0.0.1:1' });
    const token = await tokenOf(s.url);
    const bodies: Array<[string, string]> = [
      ['application/json', '{'],
      ['application/json', 'null'],
      ['application/json', '[]'],
      ['application/json', '"x"'],
      ['application/json', '42'],
      ['application/json', '{"__proto__":{"x":1}}'],
      ['application/json', '{"appId":{},"salt":[],"utc":"x","signatures":7,"data":{}}'],
      ['application/json', JSON.stringify({ ...signEnvelope({}, APP, [token]), data: '{"a":' })],
      ['application/json', `${'['.repeat(5000)}${']'.repeat(5000)}`],
      ['text/plain', 'hello'],
      ['application/octet-stream', '\u0000\u0001'],
    ];
    const paths = [
      '/sku/sync',
      '/machine/sync',
      '/order/callback',
      '/_sim/faults',
      '/_sim/orders',
      '/_sim/stream',
      '/_sim/reset',
      '/_sim/token/revoke',
      '/nowhere',
    ];
    for (const path of paths) {
      for (const [type, body] of bodies) {
        const r = await fetch(`${s.url}${path}`, { method: 'POST', headers: { 'content-type': type }, body });
        expect({ path, body, status: r.status < 500 }).toEqual({ path, body, status: true });
        await r.arrayBuffer();
      }
    }
    const q = await fetch(`${s.url}/getAccessToken?appId=a&appId=b&salt=1&utc=x`);
    expect(((await q.json()) as { code: number }).code).toBe(40000);
    expect((await get(s.url, '/_sim/state')).status).toBe(200);
  });

  it('a callback for an order it never pushed is recorded and answered 200; outStatus 100 is refused', async () => {
    const s = await started.sim();
    const token = await tokenOf(s.url);
    const result = {
      orderViewId: 'NEVER-PUSHED',
      outStatus: 300,
      outDetailList: [
        { slotNum: '1', skuCode: 'A', status: 200 },
        { slotNum: '1', skuCode: 'A', status: 400 },
      ],
    };
    expect((await post(s.url, '/order/callback', signEnvelope(result, APP, [token]))).body.code).toBe(200);
    const callbacks = (await get(s.url, '/_sim/orders/NEVER-PUSHED/callbacks')).body as unknown as Array<{
      at: number;
      payload: unknown;
    }>;
    expect(callbacks).toEqual([{ at: expect.any(Number), payload: result }]);
    expect(s.sim.order('NEVER-PUSHED')).toMatchObject({
      outStatus: 300,
      unitStatuses: [200, 400],
      pushes: 0,
    });
    const dispensing = { ...result, outStatus: 100 };
    expect((await post(s.url, '/order/callback', signEnvelope(dispensing, APP, [token]))).body.code).toBe(
      40000,
    );
    expect(s.sim.callbacks('NEVER-PUSHED')).toHaveLength(1);
  });
});
