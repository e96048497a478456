import { startMachineSim } from '@owc/machine-sim';
import { OrderStore } from '@owc/order-store';
import { startOwithoSim } from '@owc/owitho-sim';
import { createProducer } from '@owc/queues';
import { type FleetOptions, generateFleet } from '@owc/sim-fleet';
import { noticeFor, redisTest, waitFor } from '@owc/testing';
import { describe, expect } from 'vitest';
import { acceptOrder, spawnWorker } from '../order-path-support.js';
import { simWorkerEnv } from '../system-support.js';
import { APP, expectExactlyOnce, FAULT_WORKER_SETTINGS } from './fault-support.js';

const FLEET: FleetOptions = { machines: 1, slotsPerMachine: 4, inventory: 50 };
const SHUTDOWN_TIMEOUT_MS = 2000;
/** the bound the worker promises: SHUTDOWN_TIMEOUT_MS + 2 s */
const EXIT_BOUND_MS = SHUTDOWN_TIMEOUT_MS + 2000;

describe('fault: SIGTERM mid-vend', () => {
  redisTest(
    'the worker exits within SHUTDOWN_TIMEOUT_MS + 2 s, releases the machine lease, starts no new unit; the next pod resolves the vend by asking',
    async ({ redis, redisUrl, prefix }) => {
      // a vend takes longer than the shutdown timeout
      const machines = await startMachineSim({ fleet: FLEET, vendDurationMs: 5000 });
      const owitho = await startOwithoSim(APP);
      const store = new OrderStore({ redis, keyPrefix: prefix, ttlMs: 3600_000 });
      const producer = createProducer(redis, { keyPrefix: prefix });
      const machine = generateFleet(FLEET).machines[0];
      if (!machine) throw new Error('no machine');
      const notice = noticeFor('SIGTERM-1', machine, [[0, 3]]);
      const env = simWorkerEnv(
        redisUrl,
        prefix,
        APP,
        { owitho, machines },
        {
          ...FAULT_WORKER_SETTINGS,
          SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
        },
      );
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
        await producer.close();
        await owitho.close();
        await machines.close();
      }
    },
    150_000,
  );
});
