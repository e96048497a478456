import { type FleetOptions, generateFleet } from '@owc/sim-fleet';
import { noticeFor, redisTest, waitFor } from '@owc/testing';
import { describe, expect } from 'vitest';
import { acceptOrder, spawnWorker } from '../order-path-support.js';
import { expectExactlyOnce, startFaultSims } from './fault-support.js';

const FLEET: FleetOptions = { machines: 1, slotsPerMachine: 4, inventory: 50 };
const SHUTDOWN_TIMEOUT_MS = 2000;
/** the bound the worker promises: SHUTDOWN_TIMEOUT_MS + 2 s */
const EXIT_BOUND_MS = SHUTDOWN_TIMEOUT_MS + 2000;

describe('fault: SIGTERM mid-vend', () => {
  redisTest(
    'the worker exits within SHUTDOWN_TIMEOUT_MS + 2 s, releases the machine lease, starts no new unit; the next pod resolves the vend by asking',
    async ({ redis, redisUrl, prefix }) => {
      // a vend takes longer than the shutdown timeout
      const sims = await startFaultSims(redis, redisUrl, prefix, { fleet: FLEET, vendDurationMs: 5000 });
      const { machines, owitho, store, producer } = sims;
      const machine = generateFleet(FLEET).machines[0];
      if (!machine) throw new Error('no machine');
      const notice = noticeFor('SIGTERM-1', machine, [[0, 3]]);
      const env = sims.workerEnv({ SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) });
      const first = spawnWorker(env);
      const second: { kill?: () => Promise<unknown> } = {};
      try {
        await acceptOrder(store, producer, notice);
        // the first unit's vend is in flight
        await waitFor(async () => (await store.unitState(notice.orderViewId, 0))?.s === 'attempted', {
          timeoutMs: 60_000,
          what: `unit 0 attempted (${first.output().slice(-800)})`,
        });
        const sentAt = Date.now();
        const exit = await first.kill('SIGTERM');
        const exitMs = Date.now() - sentAt;
        expect(exit.code).toBe(0);
        expect(exitMs).toBeLessThanOrEqual(EXIT_BOUND_MS);
        // the lease went with it, and no second unit was started
        expect(await redis.exists(`${prefix}:{machine:${machine.machineCode}}:lease`)).toBe(0);
        expect((await store.unitState(notice.orderViewId, 1))?.s ?? 'pending').toBe('pending');

        // the next pod picks the order up, asks about unit 0, vends 1 and 2, calls back
        const next = spawnWorker(env);
        second.kill = () => next.kill();
        await waitFor(async () => (await store.get(notice.orderViewId))?.state === 'reported', {
          timeoutMs: 90_000,
          what: `order reported (${next.output().slice(-800)})`,
        });
        await expectExactlyOnce(machines, owitho, store, [notice]);
      } finally {
        await first.kill();
        await second.kill?.();
        await sims.close();
      }
    },
    150_000,
  );
});
