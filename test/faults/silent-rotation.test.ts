import { OrderStore } from '@owc/order-store';
import { tokenSignature } from '@owc/protocol';
import { redisTest, waitFor } from '@owc/testing';
import { describe, expect } from 'vitest';
import { startSystem } from '../system-support.js';
import { APP, expectExactlyOnce } from './fault-support.js';

const SEED = { machines: 2, slotsPerMachine: 6 };
/** the target: real traffic signed with a moved token is accepted again within this */
const RECOVERY_BOUND_MS = 60_000;

/** Someone else fetches our token (owitho now signs with a token we do not know). */
async function fetchElsewhere(owithoUrl: string): Promise<void> {
  const salt = 4321;
  const utc = Date.now();
  const signature = tokenSignature({ appId: APP.appId, salt, utc, secretKey: APP.secretKey });
  const q = new URLSearchParams({ appId: APP.appId, salt: String(salt), utc: String(utc), signature });
  const answer = (await (await fetch(`${owithoUrl}/getAccessToken?${q}`)).json()) as { code: number };
  expect(answer.code).toBe(200);
}

describe('fault: the token moved without us while idle', () => {
  redisTest(
    'owitho pushes signed with a token we never saw: one verification refresh, every notice accepted within a minute, each order once',
    async ({ redis, redisUrl, prefix }) => {
      // the old token dies the moment another is fetched: the harshest case
      const system = await startSystem(redisUrl, prefix, {
        app: APP,
        seed: SEED,
        inventory: 500,
        owitho: { noticeRetryMs: 500, tokenOverlapMs: 0 },
        workerEnv: { TOKEN_OVERLAP_MS: '0', CALLBACK_SCHEDULE_MS: '200,400,800,1600,3200' },
      });
      const { owitho, machines } = system;
      const store = new OrderStore({ redis, keyPrefix: prefix, ttlMs: 3600_000 });
      try {
        const before = owitho.sim.pushGenerated(10);
        await waitFor(
          async () =>
            (await Promise.all(before.map((id) => store.get(id)))).every((r) => r?.state === 'reported'),
          { timeoutMs: 60_000, what: 'the first orders reported' },
        );
        const fetchesBefore = owitho.sim.tokenFetchCount();

        // idle; then our token moves without us, and owitho pushes with the new one
        await fetchElsewhere(owitho.url);
        const movedAt = Date.now();
        const after = owitho.sim.pushGenerated(10);
        await waitFor(async () => (await Promise.all(after.map((id) => store.get(id)))).every(Boolean), {
          timeoutMs: RECOVERY_BOUND_MS + 30_000,
          intervalMs: 200,
          what: 'the notices signed with the moved token accepted',
        });
        const recoveredMs = Date.now() - movedAt;
        expect(recoveredMs).toBeLessThanOrEqual(RECOVERY_BOUND_MS);
        // exactly one fetch of ours after the move: the verification refresh
        expect(owitho.sim.tokenFetchCount()).toBe(fetchesBefore + 2);
        await waitFor(
          async () =>
            (await Promise.all(after.map((id) => store.get(id)))).every((r) => r?.state === 'reported'),
          { timeoutMs: 60_000, what: 'the later orders reported' },
        );
        const notices = [...before, ...after].map((id) => {
          const notice = owitho.sim.order(id)?.notice;
          if (!notice) throw new Error(`no notice ${id}`);
          return notice;
        });
        await expectExactlyOnce(machines, owitho, store, notices);
      } finally {
        await system.close();
      }
    },
    180_000,
  );
});
