import { redisTest, sampleNotice } from '@owc/testing';
import { describe, expect } from 'vitest';
import { post, signed, startTestIngress } from '../ingress.test-kit.js';

describe('POST /order/query', () => {
  redisTest(
    'answers 100 while dispensing, the final result after, 40000 when unknown',
    async ({ redisUrl, prefix }) => {
      const ingress = await startTestIngress(redisUrl, prefix);
      const query = async (orderViewId: string) =>
        (await post(`${ingress.url}/order/query`, signed({ orderViewId }))).body;
      try {
        expect(await query('OV-NOPE')).toEqual({ code: 40000, msg: 'order not found' });
        expect((await post(`${ingress.url}/order/notice`, signed(sampleNotice('OVQ1')))).status).toBe(200);

        // accepted, nothing vended yet: every unit 100
        expect(await query('OVQ1')).toEqual({
          code: 200,
          msg: 'success',
          data: {
            orderViewId: 'OVQ1',
            outStatus: 100,
            outDetailList: [
              { slotNum: '01', skuCode: 'COLA', status: 100 },
              { slotNum: '01', skuCode: 'COLA', status: 100 },
              { slotNum: '02', skuCode: 'CHIPS', status: 100 },
              { slotNum: '02', skuCode: 'CHIPS', status: 100 },
            ],
          },
        });

        // a dispense step in progress: unit 0 dropped, unit 1 in the air
        const { store } = ingress.deps;
        await store.markAttempted('OVQ1', 0);
        await store.recordUnitResult('OVQ1', 0, { status: 'success' });
        await store.markAttempted('OVQ1', 1);
        const during = (await query('OVQ1')) as {
          data: { outStatus: number; outDetailList: { status: number }[] };
        };
        expect(during.data.outStatus).toBe(100);
        expect(during.data.outDetailList.map((d) => d.status)).toEqual([200, 100, 100, 100]);

        await store.recordUnitResult('OVQ1', 1, { status: 'success' });
        for (const index of [2, 3]) {
          await store.markAttempted('OVQ1', index);
          await store.recordUnitResult('OVQ1', index, {
            status: index === 3 ? 'failed' : 'success',
            reason: 'jammed',
          });
        }
        expect((await store.finalize('OVQ1'))?.finalizedNow).toBe(true);
        const after = (await query('OVQ1')) as {
          code: number;
          data: { outStatus: number; outDetailList: { status: number }[] };
        };
        expect(after.code).toBe(200);
        expect(after.data.outStatus).toBe(300);
        expect(after.data.outDetailList.map((d) => d.status)).toEqual([200, 200, 200, 400]);
      } finally {
        await ingress.close();
      }
    },
  );

  redisTest(
    'runs the envelope checks: a bad signature is 40002 and a bad payload names the field',
    async ({ redisUrl, prefix }) => {
      const ingress = await startTestIngress(redisUrl, prefix);
      try {
        const bad = await post(`${ingress.url}/order/query`, signed({ orderViewId: 'X' }, ['wrong']));
        expect(bad.body).toEqual({ code: 40002, msg: 'signature verification failed' });
        const missing = await post(`${ingress.url}/order/query`, signed({ orderId: 'X' }));
        expect(missing.body).toMatchObject({ code: 40000, msg: expect.stringMatching(/data\.orderViewId/) });
      } finally {
        await ingress.close();
      }
    },
  );
});
