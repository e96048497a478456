import { OrderStore } from '@owc/order-store';
import { signData } from '@owc/protocol';
import { dispenseJobId } from '@owc/queues';
import { redisTest, sampleNotice, startRedisServer, waitFor } from '@owc/testing';
import { describe, expect, it } from 'vitest';
import {
  APP_ID,
  metricValue,
  post,
  seedToken,
  signed,
  startTestIngress,
  TOKEN,
} from '../ingress.test-kit.js';

/** `count` detail lines of `quantity` units each, 2.00 a unit. */
function lines(count: number, quantity: number) {
  return Array.from({ length: count }, (_, i) => ({
    skuCode: 'COLA',
    slotNum: String(i + 1),
    quantity,
    originalPrice: '2.00',
    actualPrice: '2.00',
  }));
}

describe('POST /order/notice', () => {
  redisTest('accepts a paid order: record, one dispense job, 200', async ({ redisUrl, prefix }) => {
    const ingress = await startTestIngress(redisUrl, prefix);
    try {
      const answer = await post(`${ingress.url}/order/notice`, signed(sampleNotice('OV1001')));
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ code: 200, msg: 'success' });
      expect(answer.headers.get('x-request-id')).toBeTruthy();
      const record = await ingress.deps.store.get('OV1001');
      expect(record?.state).toBe('accepted');
      const queue = ingress.deps.producer.queue('dispense');
      const job = await queue.getJob('OV1001');
      expect(job?.name).toBe('order.dispense');
      expect(job?.data).toEqual({ orderViewId: 'OV1001', machineCode: 'M001' });
      expect(await queue.count()).toBe(1);
      expect((await ingress.deps.store.stats()).accepted).toBe(1);
      expect(await ingress.deps.store.openSince(Date.now() + 1000)).toEqual(['OV1001']);
    } finally {
      await ingress.close();
    }
  });

  redisTest(
    'every rejection code from a real request; a rejected request leaves no key in Redis',
    async ({ redisUrl, prefix, redis }) => {
      const ingress = await startTestIngress(redisUrl, prefix, {
        env: {
          BODY_LIMIT_BYTES: '4096',
          NOTICE_MAX_UNITS: '5',
          NOTICE_MAX_LINES: '3',
          NOTICE_MAX_LINE_QUANTITY: '4',
        },
      });
      const url = `${ingress.url}/order/notice`;
      const good = () => signed(sampleNotice('OV2001'));
      const cases: [string, () => Promise<{ status: number; body: unknown }>, number, number, RegExp][] = [
        ['missing data', () => post(url, { ...good(), data: undefined }), 200, 40000, /data/],
        ['not an object', () => post(url, [1, 2]), 200, 40000, /envelope/],
        ['malformed JSON', () => post(url, '{"appId":', { raw: true }), 200, 40000, /request failed/],
        ['empty JSON body', () => post(url, '', { raw: true }), 200, 40000, /request failed/],
        ['foreign appId', () => post(url, { ...good(), appId: 'someone-else' }), 200, 40001, /appid/],
        ['salt out of range', () => post(url, { ...good(), salt: 999 }), 200, 40003, /salt/],
        [
          'stale utc',
          () => post(url, signed(sampleNotice('OV2001'), [TOKEN], Date.now() - 301_000)),
          200,
          40004,
          /utc/,
        ],
        [
          'bad signature',
          () => post(url, signed(sampleNotice('OV2001'), ['another-token'])),
          200,
          40002,
          /signature/,
        ],
        [
          'tampered data',
          () => post(url, { ...good(), data: JSON.stringify(sampleNotice('OV2002')) }),
          200,
          40002,
          /signature/,
        ],
        [
          'zero quantity',
          () =>
            post(
              url,
              signed(
                sampleNotice('OV2001', {
                  orderDetailList: [
                    {
                      skuCode: 'COLA',
                      slotNum: '01',
                      quantity: 0,
                      originalPrice: '2.00',
                      actualPrice: '2.00',
                    },
                  ],
                }),
              ),
            ),
          200,
          40000,
          /data\.orderDetailList\.0\.quantity/,
        ],
        [
          'money with three decimals',
          () => post(url, signed({ ...sampleNotice('OV2001'), actualAmount: '7.505' })),
          200,
          40000,
          /data\.actualAmount: more than two decimals/,
        ],
        [
          'negative money',
          () => post(url, signed({ ...sampleNotice('OV2001'), actualAmount: -7.5 })),
          200,
          40000,
          /data\.actualAmount: must not be negative/,
        ],
        [
          'money in exponent form',
          () => post(url, signed({ ...sampleNotice('OV2001'), actualAmount: '1e3' })),
          200,
          40000,
          /data\.actualAmount: exponent/,
        ],
        [
          'a lone surrogate in an id',
          () => post(url, signed({ ...sampleNotice('OV2001'), machineCode: 'M\uD800' })),
          200,
          40000,
          /data\.machineCode: must be well-formed Unicode/,
        ],
        [
          'a brace in an id',
          () => post(url, signed({ ...sampleNotice('OV2001'), containerCode: 'A}' })),
          200,
          40000,
          /data\.containerCode/,
        ],
        [
          'more units than NOTICE_MAX_UNITS',
          () => post(url, signed(sampleNotice('OV2001', { orderDetailList: lines(2, 3) }))),
          200,
          40000,
          /data\.orderDetailList: 6 units is above NOTICE_MAX_UNITS \(5\)/,
        ],
        [
          'more lines than NOTICE_MAX_LINES',
          () => post(url, signed(sampleNotice('OV2001', { orderDetailList: lines(4, 1) }))),
          200,
          40000,
          /data\.orderDetailList: 4 lines is above NOTICE_MAX_LINES \(3\)/,
        ],
        [
          'a line above NOTICE_MAX_LINE_QUANTITY',
          () => post(url, signed(sampleNotice('OV2001', { orderDetailList: lines(1, 5) }))),
          200,
          40000,
          /data\.orderDetailList\.0\.quantity: 5 is above NOTICE_MAX_LINE_QUANTITY \(4\)/,
        ],
        [
          'data not JSON',
          () => post(url, signData('not json', { appId: APP_ID }, [TOKEN])),
          200,
          40000,
          /data is not JSON/,
        ],
        ['text/plain', () => post(url, good(), { contentType: 'text/plain' }), 415, 40000, /content-type/],
        [
          'too large',
          () => post(url, { ...good(), padding: 'x'.repeat(8000) }),
          413,
          40000,
          /too large \(BODY_LIMIT_BYTES 4096\)/,
        ],
      ];
      try {
        // the queues write their meta keys once at start-up; anything else would be the requests' doing
        const before = await waitFor(async () => {
          const keys = await redis.keys(`${prefix}*`);
          return keys.filter((k) => k.endsWith(':meta')).length === 4 ? keys.sort() : undefined;
        });
        expect(before.filter((k) => !k.endsWith(':meta') && !k.startsWith(`${prefix}:{token}:`))).toEqual([]);
        for (const [what, send, status, code, msg] of cases) {
          const answer = await send();
          expect({ what, status: answer.status }).toEqual({ what, status });
          const body = answer.body as { code: number; msg: string };
          expect({ what, code: body.code }).toEqual({ what, code });
          expect(body.msg).toMatch(msg);
        }
        // a signature failure may ask the keeper for a verification refresh (its own {token} keys,
        // docs/protocol.md §12); nothing of the requests themselves is left
        const verification = [`${prefix}:{token}:verify`, `${prefix}:{token}:wanted`];
        expect((await redis.keys(`${prefix}*`)).filter((k) => !verification.includes(k)).sort()).toEqual(
          before,
        );
        const metrics = await (await fetch(`${ingress.adminUrl}/metrics`)).text();
        expect(
          metricValue(metrics, 'owc_ingress_envelope_rejections_total', {
            route: '/order/notice',
            code: '40002',
          }),
        ).toBe(2);
        expect(
          metricValue(metrics, 'owc_ingress_requests_total', {
            route: '/order/notice',
            status: '200',
            code: '40001',
          }),
        ).toBe(1);
      } finally {
        await ingress.close();
      }
    },
  );

  redisTest(
    'every money and enum form owitho may legally send is accepted (200), stored as exact wire money',
    async ({ redisUrl, prefix }) => {
      const ingress = await startTestIngress(redisUrl, prefix);
      try {
        const url = `${ingress.url}/order/notice`;
        const forms: [string, Record<string, unknown>][] = [
          ['OV7001', { actualAmount: '7', originAmount: '8', discountMoney: '1' }],
          ['OV7002', { actualAmount: '7.0', originAmount: '8.0', discountMoney: '1.0' }],
          ['OV7003', { actualAmount: 7, originAmount: 8.0, discountMoney: 1 }],
          ['OV7004', { actualAmount: 7.5, originAmount: 8.5, discountMoney: '1' }],
          ['OV7005', { payMethod: 9 }],
          ['OV7006', { payStatus: 0, payCompleteTime: undefined }],
          ['OV7007', { payStatus: 0, payCompleteTime: null }],
          ['OV7008', { payStatus: 7 }],
          ['OV7009', { refundStatus: 9 }],
          ['OV7010', { containerCode: '' }],
          ['OV7011', { containerCode: undefined }],
        ];
        for (const [id, patch] of forms) {
          const answer = await post(url, signed({ ...sampleNotice(id), ...patch }));
          expect({ id, body: answer.body }).toEqual({ id, body: { code: 200, msg: 'success' } });
        }
        const sevenFifty = await ingress.deps.store.get('OV7004');
        expect(sevenFifty?.notice.actualAmount).toBe('7.50');
        expect(sevenFifty?.notice.originAmount).toBe('8.50');
        expect((await ingress.deps.store.get('OV7003'))?.notice.actualAmount).toBe('7.00');
        expect((await ingress.deps.store.get('OV7005'))?.notice.payMethod).toBe(9);
        expect((await ingress.deps.store.get('OV7008'))?.notice.payStatus).toBe(7);
        const metrics = await (await fetch(`${ingress.adminUrl}/metrics`)).text();
        expect(metricValue(metrics, 'owc_ingress_notice_unknown_enum_total', { field: 'payMethod' })).toBe(1);
        expect(metricValue(metrics, 'owc_ingress_notice_unknown_enum_total', { field: 'payStatus' })).toBe(1);
        expect(metricValue(metrics, 'owc_ingress_notice_unknown_enum_total', { field: 'refundStatus' })).toBe(
          1,
        );
      } finally {
        await ingress.close();
      }
    },
  );

  redisTest(
    '50 concurrent notices for one id: one record, one job, all 200',
    async ({ redisUrl, prefix }) => {
      const ingress = await startTestIngress(redisUrl, prefix);
      try {
        const answers = await Promise.all(
          Array.from({ length: 50 }, () =>
            post(`${ingress.url}/order/notice`, signed(sampleNotice('OV3001'))),
          ),
        );
        expect(answers.map((a) => a.status)).toEqual(Array(50).fill(200));
        expect(answers.every((a) => (a.body as { code: number }).code === 200)).toBe(true);
        const queue = ingress.deps.producer.queue('dispense');
        expect(await queue.count()).toBe(1);
        expect((await queue.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed'])).length).toBe(1);
        const record = await ingress.deps.store.get('OV3001');
        expect(record?.duplicates).toBe(49);
        const stats = await ingress.deps.store.stats();
        expect(stats.accepted).toBe(1);
        expect(stats.duplicates).toBe(49);
        const keys = await ingress.deps.redis.keys(`${prefix}:{order:*`);
        expect(keys.sort()).toEqual([`${prefix}:{order:OV3001}:record`]);
      } finally {
        await ingress.close();
      }
    },
  );

  redisTest(
    'a conflicting re-push is 200, not re-dispensed, logged and counted',
    async ({ redisUrl, prefix }) => {
      const ingress = await startTestIngress(redisUrl, prefix);
      try {
        const url = `${ingress.url}/order/notice`;
        expect((await post(url, signed(sampleNotice('OV4001')))).status).toBe(200);
        const other = sampleNotice('OV4001', {
          machineCode: 'M999',
          actualAmount: '6.00',
          discountMoney: '2.00',
        });
        const answer = await post(url, signed(other));
        expect(answer.status).toBe(200);
        expect(answer.body).toEqual({ code: 200, msg: 'success' });
        const record = await ingress.deps.store.get('OV4001');
        expect(record?.notice.machineCode).toBe('M001');
        expect(record?.conflicts).toBe(1);
        expect(await ingress.deps.producer.queue('dispense').count()).toBe(1);
        expect((await ingress.deps.store.stats()).conflicts).toBe(1);
        const metrics = await (await fetch(`${ingress.adminUrl}/metrics`)).text();
        expect(metricValue(metrics, 'owc_ingress_notice_conflicts_total')).toBe(1);
      } finally {
        await ingress.close();
      }
    },
  );

  redisTest(
    'a record left without its job (crash between the two) is healed by the re-push',
    async ({ redisUrl, prefix }) => {
      const ingress = await startTestIngress(redisUrl, prefix);
      try {
        // the first attempt wrote the record, then died before the job: no 200 was sent
        expect((await ingress.deps.store.accept(sampleNotice('OV5001'))).outcome).toBe('created');
        const queue = ingress.deps.producer.queue('dispense');
        expect(await queue.count()).toBe(0);
        const answer = await post(`${ingress.url}/order/notice`, signed(sampleNotice('OV5001')));
        expect(answer.status).toBe(200);
        expect(await queue.count()).toBe(1);
        expect((await queue.getJob('OV5001'))?.data).toEqual({ orderViewId: 'OV5001', machineCode: 'M001' });
      } finally {
        await ingress.close();
      }
    },
  );

  redisTest('an order already dispensing is not re-enqueued by a duplicate', async ({ redisUrl, prefix }) => {
    const ingress = await startTestIngress(redisUrl, prefix);
    try {
      const store = new OrderStore({ redis: ingress.deps.redis, keyPrefix: prefix, ttlMs: 60_000 });
      await store.accept(sampleNotice('OV5101'));
      await store.markAttempted('OV5101', 0);
      const answer = await post(`${ingress.url}/order/notice`, signed(sampleNotice('OV5101')));
      expect(answer.status).toBe(200);
      expect(await ingress.deps.producer.queue('dispense').count()).toBe(0);
    } finally {
      await ingress.close();
    }
  });

  redisTest('amount mismatches are counted and accepted', async ({ redisUrl, prefix }) => {
    const ingress = await startTestIngress(redisUrl, prefix);
    try {
      const off = sampleNotice('OV6001', { actualAmount: '6.50' });
      const answer = await post(`${ingress.url}/order/notice`, signed(off));
      expect(answer.body).toEqual({ code: 200, msg: 'success' });
      const metrics = await (await fetch(`${ingress.adminUrl}/metrics`)).text();
      expect(metricValue(metrics, 'owc_ingress_amount_mismatches_total', { kind: 'lines' })).toBe(1);
      expect(metricValue(metrics, 'owc_ingress_amount_mismatches_total', { kind: 'discount' })).toBe(1);
      expect(await ingress.deps.store.get('OV6001')).toBeDefined();
    } finally {
      await ingress.close();
    }
  });

  redisTest(
    "orderViewIds BullMQ refuses as job ids (integers, ':') still get exactly one job",
    async ({ redisUrl, prefix }) => {
      const ingress = await startTestIngress(redisUrl, prefix);
      try {
        for (const id of ['123456', 'OV:7:1', 'OV%3A7']) {
          for (let i = 0; i < 2; i++) {
            const answer = await post(`${ingress.url}/order/notice`, signed(sampleNotice(id)));
            expect({ id, body: answer.body }).toEqual({ id, body: { code: 200, msg: 'success' } });
          }
          const job = await ingress.deps.producer.queue('dispense').getJob(dispenseJobId(id));
          expect(job?.data.orderViewId).toBe(id);
        }
        expect(await ingress.deps.producer.queue('dispense').count()).toBe(3);
        expect(dispenseJobId('OV:7:1')).not.toBe(dispenseJobId('OV%3A7:1'));
      } finally {
        await ingress.close();
      }
    },
  );

  redisTest(
    'no token in Redis yet: 503 with code 40000 (never a fetch), then 200 once the worker has one',
    async ({ redisUrl, prefix }) => {
      const ingress = await startTestIngress(redisUrl, prefix, { seed: false });
      try {
        const answer = await post(`${ingress.url}/order/notice`, signed(sampleNotice('OV8001')));
        expect(answer.status).toBe(503);
        expect((answer.body as { code: number }).code).toBe(40000);
        expect(await ingress.deps.redis.keys(`${prefix}:{order:*`)).toEqual([]);
        expect(await ingress.deps.redis.keys(`${prefix}:{token}:*`)).toEqual([]);
        expect((await fetch(`${ingress.url}/readyz`)).status).toBe(503);
        const keeper = await seedToken(redisUrl, prefix);
        keeper.close();
        const later = await post(`${ingress.url}/order/notice`, signed(sampleNotice('OV8001')));
        expect(later.body).toEqual({ code: 200, msg: 'success' });
      } finally {
        await ingress.close();
      }
    },
  );

  redisTest(
    'a token rotation: the new token works at once, the previous one during its overlap',
    async ({ redisUrl, prefix }) => {
      // a long in-process cache: the rotation must still be seen without waiting for it
      const ingress = await startTestIngress(redisUrl, prefix, {
        seed: false,
        env: { TOKEN_CACHE_MS: '600000' },
      });
      const keeper = await seedToken(redisUrl, prefix, 'token-A');
      try {
        const url = `${ingress.url}/order/notice`;
        expect((await post(url, signed(sampleNotice('OVR1'), ['token-A']))).body).toEqual({
          code: 200,
          msg: 'success',
        });
        await keeper.rotate('token-B');
        expect((await post(url, signed(sampleNotice('OVR2'), ['token-B']))).body).toEqual({
          code: 200,
          msg: 'success',
        });
        expect((await post(url, signed(sampleNotice('OVR3'), ['token-A']))).body).toEqual({
          code: 200,
          msg: 'success',
        });
        // both signatures, as owitho sends during the overlap
        expect((await post(url, signed(sampleNotice('OVR4'), ['token-B', 'token-A']))).body).toEqual({
          code: 200,
          msg: 'success',
        });
        expect((await post(url, signed(sampleNotice('OVR5'), ['token-C']))).body).toMatchObject({
          code: 40002,
        });
        expect(await ingress.deps.producer.queue('dispense').count()).toBe(4);
      } finally {
        keeper.close();
        await ingress.close();
      }
    },
  );
});

describe('Redis unreachable', () => {
  it('/order/notice answers 503/40000 in bounded time and /readyz fails', async () => {
    const dead = 'redis://127.0.0.1:1';
    const ingress = await startTestIngress(dead, 'dead', {
      seed: false,
      env: { REDIS_CONNECT_WAIT_MS: '100' },
    });
    try {
      const answer = await post(`${ingress.url}/order/notice`, signed(sampleNotice('OV9001')), {
        timeoutMs: 10_000,
      });
      expect(answer.status).toBe(503);
      expect(answer.body).toMatchObject({ code: 40000 });
      const ready = await fetch(`${ingress.url}/readyz`, { signal: AbortSignal.timeout(10_000) });
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ status: 'unavailable', redis: 'down' });
      const health = await fetch(`${ingress.url}/healthz`);
      expect(health.status).toBe(200);
    } finally {
      await ingress.close();
    }
  });

  it('Redis stopped while running: 503/40000 in bounded time and /readyz fails', async () => {
    const server = await startRedisServer();
    const ingress = await startTestIngress(server.url, 'stop');
    try {
      const first = await post(`${ingress.url}/order/notice`, signed(sampleNotice('OVS1')));
      expect(first.body).toEqual({ code: 200, msg: 'success' });
      await server.stop();
      const answer = await post(`${ingress.url}/order/notice`, signed(sampleNotice('OVS2')), {
        timeoutMs: 10_000,
      });
      expect(answer.status).toBe(503);
      expect(answer.body).toMatchObject({ code: 40000 });
      const query = await post(`${ingress.url}/order/query`, signed({ orderViewId: 'OVS1' }), {
        timeoutMs: 10_000,
      });
      expect(query.status).toBe(503);
      const ready = await fetch(`${ingress.url}/readyz`, { signal: AbortSignal.timeout(10_000) });
      expect(ready.status).toBe(503);
    } finally {
      await ingress.close();
      await server.stop();
    }
  });

  redisTest('/readyz is 200 with Redis and a token', async ({ redisUrl, prefix }) => {
    const ingress = await startTestIngress(redisUrl, prefix);
    try {
      const ready = await waitFor(async () => {
        const r = await fetch(`${ingress.url}/readyz`);
        return r.status === 200 ? r.json() : undefined;
      });
      expect(ready).toEqual({ status: 'ready', redis: 'ok', token: 'ok' });
    } finally {
      await ingress.close();
    }
  });
});
