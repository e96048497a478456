import { type StartedMachineSim, startMachineSim } from '@owc/machine-sim';
import { OrderStore } from '@owc/order-store';
import { startOwithoSim } from '@owc/owitho-sim';
import type { OrderNotice } from '@owc/protocol';
import { callbackJobId, createProducer } from '@owc/queues';
import { type FleetOptions, generateFleet } from '@owc/sim-fleet';
import { noticeFor, redisTest, silentLogger, waitFor } from '@owc/testing';
import type { Redis } from 'ioredis';
import { describe, expect } from 'vitest';
import { acceptOrder, spawnWorker, type WorkerProcess } from './order-path-support.js';

const FLEET: FleetOptions = { machines: 3, slotsPerMachine: 6, inventory: 500 };
const fleet = generateFleet(FLEET);
const DAY = 24 * 3600 * 1000;

function machineAt(i: number) {
  const m = fleet.machines[i];
  if (!m) throw new RangeError(`no machine #${i}`);
  return m;
}

function workerEnv(
  redisUrl: string,
  prefix: string,
  sim: StartedMachineSim,
  extra: Record<string, string> = {},
) {
  return {
    REDIS_URL: redisUrl,
    KEY_PREFIX: prefix,
    OWITHO_BASE_URL: 'http://127.0.0.1:9',
    OWITHO_APP_ID: 'app-e2e',
    OWITHO_SECRET_KEY: 'secret-e2e',
    MACHINE_GATEWAY_URL: sim.url,
    WORKER_ROLES: 'dispense',
    // a dispense pod that does not call owitho (there is none here): its callback jobs deliver
    CALLBACK_FIRST_DELIVERY: 'job',
    WORKER_METRICS_PORT: '-1',
    LOG_LEVEL: 'warn',
    GATEWAY_VEND_TIMEOUT_MS: '1000',
    MACHINE_LEASE_TTL_MS: '2000',
    MACHINE_LEASE_WAIT_MS: '20',
    JOB_LOCK_DURATION_MS: '2000',
    DISPENSE_CONCURRENCY: '8',
    VEND_RESOLVE_BACKOFF_MS: '50,100,200',
    ...extra,
  };
}

const unitsOf = (n: OrderNotice) => n.orderDetailList.reduce((s, l) => s + l.quantity, 0);

/**
 * The machine and owitho simulators, and worker settings with every order role, so the callbacks go
 * out too (the dispense job's first delivery included); `close` kills the workers spawned into
 * `workers` and stops the rest.
 */
async function withOwitho(redis: Redis, redisUrl: string, prefix: string, vendDurationMs: number) {
  const sim = await startMachineSim({ fleet: FLEET, vendDurationMs });
  const owitho = await startOwithoSim({
    appId: 'app-e2e',
    secretKey: 'secret-e2e',
    logger: silentLogger('owitho-sim'),
  });
  const env = workerEnv(redisUrl, prefix, sim, {
    OWITHO_BASE_URL: owitho.url,
    WORKER_ROLES: 'token,dispense,callback',
    CALLBACK_FIRST_DELIVERY: 'inline',
    CALLBACK_SCHEDULE_MS: '200,400,800',
  });
  const store = new OrderStore({ redis, keyPrefix: prefix, ttlMs: DAY });
  const producer = createProducer(redis, { keyPrefix: prefix });
  const workers: WorkerProcess[] = [];
  const close = async () => {
    await Promise.all(workers.map((w) => w.kill('SIGKILL')));
    await producer.close();
    await owitho.close();
    await sim.close();
  };
  return { sim, owitho, env, store, producer, workers, close };
}

describe('worker processes', () => {
  redisTest(
    'two worker processes: never two vends at once on a machine, machines in parallel',
    async ({ redis, redisUrl, prefix }) => {
      const sim = await startMachineSim({ fleet: FLEET, vendDurationMs: 30 });
      const store = new OrderStore({ redis, keyPrefix: prefix, ttlMs: DAY });
      const producer = createProducer(redis, { keyPrefix: prefix });
      const workers: WorkerProcess[] = [];
      try {
        // most orders on M001, the rest spread over M002 and M003
        const notices = Array.from({ length: 60 }, (_, i) =>
          noticeFor(`TW${i}`, machineAt(i % 3 === 0 ? 1 + (i % 2) : 0), [[i % 6, 1 + (i % 2)]]),
        );
        await Promise.all(notices.map((n) => acceptOrder(store, producer, n)));
        workers.push(
          spawnWorker(workerEnv(redisUrl, prefix, sim)),
          spawnWorker(workerEnv(redisUrl, prefix, sim)),
        );
        const total = notices.reduce((s, n) => s + unitsOf(n), 0);
        await waitFor(() => sim.sim.ledger().length === total || undefined, {
          timeoutMs: 90_000,
          what: `all ${total} units vended (${workers.map((w) => w.output().slice(-500)).join('\n')})`,
        });
        await waitFor(
          async () =>
            (await Promise.all(notices.map((n) => store.get(n.orderViewId)))).every((r) => r?.result),
          { what: 'every order final' },
        );
        const ledger = sim.sim.ledger();
        expect(new Set(ledger.map((e) => e.vendId)).size).toBe(total);
        expect(sim.sim.stats().doubleVends).toBe(0);
        const overlaps = sim.sim.overlaps();
        expect(overlaps.total).toBe(0);
        for (const m of Object.values(overlaps.machines)) expect(m.maxConcurrency).toBeLessThanOrEqual(1);
        const parallel = ledger.some((a) =>
          ledger.some(
            (b) =>
              a.machineCode !== b.machineCode && a.startedAt < b.finishedAt && b.startedAt < a.finishedAt,
          ),
        );
        expect(parallel).toBe(true);
        // neither process fell over on the way
        expect(workers.every((w) => w.child.exitCode === null)).toBe(true);
      } finally {
        await Promise.all(workers.map((w) => w.kill('SIGKILL')));
        await producer.close();
        await sim.close();
      }
    },
    120_000,
  );

  redisTest(
    'a worker SIGKILLed while vending, restarted: no unit vended twice, every order called back with its final result',
    async ({ redis, redisUrl, prefix }) => {
      const { sim, owitho, env, store, producer, workers, close } = await withOwitho(
        redis,
        redisUrl,
        prefix,
        60,
      );
      try {
        const notices = Array.from({ length: 90 }, (_, i) =>
          noticeFor(`K${i}`, machineAt(i % 3), [[i % 6, 1 + (i % 3)]]),
        );
        await Promise.all(notices.map((n) => acceptOrder(store, producer, n)));
        const total = notices.reduce((s, n) => s + unitsOf(n), 0);
        const first = spawnWorker(env);
        workers.push(first);
        await waitFor(() => sim.sim.ledger().length >= 25 || undefined, {
          timeoutMs: 60_000,
          what: `25 vends (${first.output().slice(-1000)})`,
        });
        await first.kill('SIGKILL');
        expect(first.child.signalCode).toBe('SIGKILL');
        const vendedAtKill = sim.sim.ledger().length;
        expect(vendedAtKill).toBeLessThan(total);
        // the dead process left units marked attempted with no result (in flight when it died)
        const inFlight = (await Promise.all(notices.map((n) => store.get(n.orderViewId)))).flatMap((r) =>
          [...(r?.unitStates.values() ?? [])].filter((s) => s.s === 'attempted'),
        );
        expect(inFlight.length).toBeGreaterThan(0);

        workers.push(spawnWorker(env));
        await waitFor(
          async () =>
            (await Promise.all(notices.map((n) => store.get(n.orderViewId)))).every((r) => r?.result),
          { timeoutMs: 90_000, what: 'every order final after the restart' },
        );
        const ledger = sim.sim.ledger();
        expect(sim.sim.stats().doubleVends).toBe(0);
        // the first guard held: units in flight at the kill were asked about, never re-sent
        expect(sim.sim.stats().dedupedRequests).toBe(0);
        expect(new Set(ledger.map((e) => e.vendId)).size).toBe(ledger.length);
        expect(ledger).toHaveLength(total);
        expect(sim.sim.overlaps().total).toBe(0);
        for (const n of notices) {
          const record = await store.get(n.orderViewId);
          expect(record?.result?.outStatus).toBe(200);
          expect(record?.result?.outDetailList).toHaveLength(unitsOf(n));
        }
        // 0 orders without a final callback: each one reached owitho, saying what the store says
        await waitFor(() => notices.every((n) => owitho.sim.callbacks(n.orderViewId).length > 0), {
          timeoutMs: 60_000,
          what: 'a callback for every order',
        });
        for (const n of notices) {
          const record = await store.get(n.orderViewId);
          // a delivery cut by the kill may be sent again, but always with the same payload
          for (const payload of owitho.sim.callbacks(n.orderViewId)) expect(payload).toEqual(record?.result);
        }
        await waitFor(
          async () =>
            (await Promise.all(notices.map((n) => store.get(n.orderViewId)))).every(
              (r) => r?.state === 'reported',
            ),
          { what: 'every order reported' },
        );
      } finally {
        await close();
      }
    },
    180_000,
  );

  redisTest(
    'a worker SIGKILLed between an order final and its callback delivered: the resumed dispense job delivers it',
    async ({ redis, redisUrl, prefix }) => {
      const { sim, owitho, env, store, producer, workers, close } = await withOwitho(
        redis,
        redisUrl,
        prefix,
        10,
      );
      try {
        // owitho holds every order/callback: the dispense jobs stop between final and delivered
        owitho.sim.setFaults({ hang: true, path: '/order/callback' });
        const notices = [0, 1, 2].map((i) => noticeFor(`FC${i}`, machineAt(i), [[i, 1]]));
        await Promise.all(notices.map((n) => acceptOrder(store, producer, n)));
        const first = spawnWorker(env);
        workers.push(first);
        await waitFor(() => owitho.sim.state().heldRequests === notices.length, {
          timeoutMs: 60_000,
          what: `every first delivery held by owitho (${first.output().slice(-1000)})`,
        });
        for (const n of notices) {
          expect((await store.get(n.orderViewId))?.state).toBe('final');
          // only the unfinished dispense job stands for the callback
          expect(await producer.queue('callback').getJob(callbackJobId(n.orderViewId))).toBeUndefined();
        }
        await first.kill('SIGKILL');
        owitho.sim.clearFaults();

        workers.push(spawnWorker(env));
        await waitFor(
          async () =>
            (await Promise.all(notices.map((n) => store.get(n.orderViewId)))).every(
              (r) => r?.state === 'reported',
            ),
          { timeoutMs: 60_000, what: 'every order reported after the restart' },
        );
        for (const n of notices) {
          const record = await store.get(n.orderViewId);
          // the resumed dispense job found the order final and delivered it itself
          expect(await producer.queue('callback').getJob(callbackJobId(n.orderViewId))).toBeUndefined();
          const delivered = owitho.sim.callbacks(n.orderViewId);
          expect(delivered.length).toBeGreaterThan(0);
          for (const payload of delivered) expect(payload).toEqual(record?.result);
        }
        expect(sim.sim.stats().doubleVends).toBe(0);
        expect(sim.sim.ledger()).toHaveLength(notices.length);
      } finally {
        await close();
      }
    },
    120_000,
  );
});
