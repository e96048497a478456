import { APP_ID, startTestIngress } from '@owc/ingress/test-kit';
import { startOwithoSim } from '@owc/owitho-sim';
import { redisTest, sampleNotice, silentLogger } from '@owc/testing';
import { describe, expect } from 'vitest';
import { startTokenRole } from './system-support.js';

const SECRET = 'sim-secret-key-raw1';

describe('owitho-sim raw push: what owitho may legally send, not what our schemas produce', () => {
  redisTest(
    'every tolerant form is answered 200 by the ingress; an illegal one 40000 naming the field',
    async ({ redisUrl, prefix }) => {
      const ingress = await startTestIngress(redisUrl, prefix, { seed: false });
      const owitho = await startOwithoSim({
        appId: APP_ID,
        secretKey: SECRET,
        thirdUrl: ingress.url,
        queryAfterMs: 3_600_000,
        logger: silentLogger('owitho-sim'),
      });
      const tokenRole = await startTokenRole(redisUrl, prefix, owitho, { appId: APP_ID, secretKey: SECRET });
      const raw = async (body: unknown) => {
        const response = await fetch(`${owitho.url}/_sim/raw`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        expect(response.status).toBe(200);
        return (await response.json()) as { status: number; code?: number };
      };
      try {
        await tokenRole.keeper.currentToken();
        const base = sampleNotice('RAW0');
        const forms: [string, Record<string, unknown>][] = [
          ['amounts without decimals', { actualAmount: '7', originAmount: '8', discountMoney: '1' }],
          ['amounts as JSON numbers', { actualAmount: 7.5, originAmount: 8.5, discountMoney: 1 }],
          ['an unknown payMethod', { payMethod: 42 }],
          ['an unpaid order without payCompleteTime', { payStatus: 0, payCompleteTime: undefined }],
          ['an unpaid order with payCompleteTime null', { payStatus: 0, payCompleteTime: null }],
          ['an unknown payStatus', { payStatus: 9 }],
          ['no containerCode', { containerCode: undefined }],
          ['an empty containerCode', { containerCode: '' }],
        ];
        for (const [i, [what, patch]] of forms.entries()) {
          const answer = await raw({
            path: '/order/notice',
            payload: { ...base, orderViewId: `RAW${i + 1}`, ...patch },
          });
          expect({ what, status: answer.status, code: answer.code }).toEqual({
            what,
            status: 200,
            code: 200,
          });
        }
        // an exact data string: the number form as owitho's own sample writes it
        const data = JSON.stringify({ ...base, orderViewId: 'RAW-DATA' }).replace(
          /"actualAmount":"[^"]*"/,
          '"actualAmount":7.00',
        );
        expect(await raw({ path: '/order/notice', data })).toMatchObject({ status: 200, code: 200 });
        expect((await ingress.deps.store.get('RAW2'))?.notice.actualAmount).toBe('7.50');
        expect((await ingress.deps.store.get('RAW3'))?.notice.payMethod).toBe(42);
        // not legal: three decimals
        const bad = await raw({
          path: '/order/notice',
          payload: { ...base, orderViewId: 'RAW-BAD', actualAmount: '7.001' },
        });
        expect(bad).toMatchObject({ status: 200, code: 40000 });
        // the control API refuses a body with neither payload nor data, naming the field
        const refused = await fetch(`${owitho.url}/_sim/raw`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ path: '/order/notice' }),
        });
        expect(refused.status).toBe(400);
      } finally {
        await owitho.close();
        await ingress.close();
        await tokenRole.close();
      }
    },
  );
});
