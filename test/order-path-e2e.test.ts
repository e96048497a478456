import { loadIngressConfig, type RunningIngress, startIngress } from '@owc/ingress';
import { type StartedMachineSim, startMachineSim } from '@owc/machine-sim';
import { type StartedOwithoSim, startOwithoSim } from '@owc/owitho-sim';
import { type OrderResult, orderResultSchema, readAnswer, signEnvelope } from '@owc/protocol';
import { redisTest, silentLogger, waitFor } from '@owc/testing';
import { loadWorkerConfig, type RunningWorker, runWorker } from '@owc/worker';
import { describe, expect } from 'vitest';

const APP_ID = 'app-order-path';
const SECRET = 'order-path-secret-0001';
const SEED = { machines: 3, slotsPerMachine: 12 };

interface System {
  machines: StartedMachineSim;
  ingress: RunningIngress;
  owitho: StartedOwithoSim;
  worker: RunningWorker;
  close(): Promise<void>;
}

/** machine-sim, ingress, owitho-sim pushing to the ingress, and a worker with token+dispense+callback. */
async function startSystem(
  redisUrl: string,
  prefix: string,
  options: { workerEnv?: Record<string, string>; duplicateRate?: number } = {},
): Promise<System> {
  // plenty of stock, so that every unit of the generated orders can drop
  const machines = await startMachineSim({ fleet: { ...SEED, inventory: 1000 }, vendDurationMs: 2 });
  const ingress = await startIngress(
    loadIngressConfig({
      REDIS_URL: redisUrl,
      KEY_PREFIX: prefix,
      OWITHO_APP_ID: APP_ID,
      INGRESS_HOST: '127.0.0.1',
      INGRESS_PORT: '0',
      ADMIN_HOST: '127.0.0.1',
      ADMIN_PORT: '0',
      MACHINE_GATEWAY_URL: machines.url,
      ADMIN_USER: 'admin',
      ADMIN_PASSWORD: 'admin-pass',
      LOG_LEVEL: 'silent',
    }),
    silentLogger('ingress'),
  );
  const owitho = await startOwithoSim({
    appId: APP_ID,
    secretKey: SECRET,
    thirdUrl: ingress.url,
    noticeRetryMs: 200,
    duplicateRate: options.duplicateRate ?? 0,
    queryAfterMs: 3_600_000,
    seed: SEED,
    logger: silentLogger('owitho-sim'),
  });
  const worker = await runWorker(
    loadWorkerConfig({
      REDIS_URL: redisUrl,
      KEY_PREFIX: prefix,
      OWITHO_BASE_URL: owitho.url,
      OWITHO_APP_ID: APP_ID,
      OWITHO_SECRET_KEY: SECRET,
      MACHINE_GATEWAY_URL: machines.url,
      WORKER_ROLES: 'token,dispense,callback',
      WORKER_METRICS_PORT: '-1',
      LOG_LEVEL: 'silent',
      GATEWAY_VEND_TIMEOUT_MS: '1000',
      MACHINE_LEASE_TTL_MS: '5000',
      MACHINE_LEASE_WAIT_MS: '20',
      VEND_RESOLVE_BACKOFF_MS: '50,100,200',
      JOB_LOCK_DURATION_MS: '5000',
      CALLBACK_SCHEDULE_MS: '200,400,800',
      CALLBACK_JITTER: '0.1',
      ...options.workerEnv,
    }),
    silentLogger('worker'),
  );
  return {
    machines,
    ingress,
    owitho,
    worker,
    async close() {
      await owitho.close();
      await worker.close();
      await ingress.close();
      await machines.close();
    },
  };
}

/** owitho asking us `order/query`, signed with the tokens it honours. */
async function orderQuery(system: System, orderViewId: string): Promise<OrderResult> {
  const envelope = signEnvelope({ orderViewId }, { appId: APP_ID }, system.owitho.sim.liveTokens());
  const response = await fetch(`${system.ingress.url}/order/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(envelope),
  });
  const answer = readAnswer(await response.text());
  expect(answer?.code).toBe(200);
  return orderResultSchema.parse(answer?.data);
}

const unitsOf = (lines: readonly { quantity: number }[]) => lines.reduce((s, l) => s + l.quantity, 0);

describe('the order path end to end (owitho-sim → ingress → worker → machine-sim → owitho-sim)', () => {
  redisTest(
    '300 orders with duplicates and lost answers: one final callback each, every unit once, callback = order/query',
    async ({ redisUrl, prefix }) => {
      const system = await startSystem(redisUrl, prefix, { duplicateRate: 0.3 });
      try {
        const { owitho, machines } = system;
        // two lost answers per machine: the unit drops, the worker's request times out
        for (const code of machines.sim.machineCodes()) {
          machines.sim.setMachineFaults(code, { loseAnswers: { count: 2, holdMs: 2500 } });
        }
        const ids = owitho.sim.pushGenerated(300);
        const unpaid = owitho.sim.pushGenerated(1, { unpaid: true })[0] ?? '';
        const all = [...ids, unpaid];
        await waitFor(() => all.every((id) => (owitho.sim.order(id)?.callbacks.length ?? 0) > 0), {
          timeoutMs: 120_000,
          what: 'a callback for every order',
        });
        // everything reported: no job is left that could send another callback
        await waitFor(
          async () =>
            (await Promise.all(all.map((id) => system.worker.context.store.get(id)))).every(
              (r) => r?.state === 'reported',
            ),
          { what: 'every order reported' },
        );

        const orders = all.map((id) => owitho.sim.order(id));
        expect(orders.reduce((n, o) => n + (o?.duplicatesPushed ?? 0), 0)).toBeGreaterThan(0);
        for (const order of orders) expect(order?.callbacks).toHaveLength(1);

        // units in the callbacks = Σ quantities of the notices
        const paid = ids.map((id) => owitho.sim.order(id));
        const expectedUnits = paid.reduce((s, o) => s + unitsOf(o?.notice?.orderDetailList ?? []), 0);
        const reportedUnits = paid.reduce(
          (s, o) => s + (o?.callbacks[0]?.payload.outDetailList.length ?? 0),
          0,
        );
        expect(reportedUnits).toBe(expectedUnits);
        for (const o of paid) expect(o?.outStatus).toBe(200);

        // the machines' ledger: each vendId at most once, exactly the paid units, lost answers asked about
        const ledger = machines.sim.ledger();
        expect(new Set(ledger.map((e) => e.vendId)).size).toBe(ledger.length);
        expect(ledger).toHaveLength(expectedUnits);
        expect(ledger.filter((e) => e.answerLost)).toHaveLength(6);
        expect(machines.sim.stats().dedupedRequests).toBe(0);
        expect(machines.sim.overlaps().total).toBe(0);

        // the unpaid order: no vend, 400 for the order and every unit
        const unpaidOrder = owitho.sim.order(unpaid);
        expect(ledger.some((e) => e.vendId.startsWith(`${unpaid}-`))).toBe(false);
        expect(unpaidOrder?.outStatus).toBe(400);
        expect(unpaidOrder?.unitStatuses).toEqual(
          Array(unitsOf(unpaidOrder?.notice?.orderDetailList ?? [])).fill(400),
        );

        // what owitho was told is what order/query says
        for (const id of all) {
          expect(await orderQuery(system, id)).toEqual(owitho.sim.order(id)?.callbacks[0]?.payload);
        }
      } finally {
        await system.close();
      }
    },
    180_000,
  );

  redisTest(
    'owitho answers 503 for a while: callbacks retry on the schedule (no tight loop), all delivered after',
    async ({ redisUrl, prefix }) => {
      const schedule = [250, 500, 1000, 2000, 4000];
      const jitter = 0.1;
      const system = await startSystem(redisUrl, prefix, {
        workerEnv: { CALLBACK_SCHEDULE_MS: schedule.join(','), CALLBACK_JITTER: String(jitter) },
      });
      try {
        const { owitho } = system;
        const store = system.worker.context.store;
        owitho.sim.setFaults({ status503: true, path: '/order/callback' });
        const ids = owitho.sim.pushGenerated(20);
        // hold the outage until every order has been refused three times
        await waitFor(
          async () =>
            (await Promise.all(ids.map((id) => store.get(id)))).every(
              (r) => (r?.callback.attempts ?? 0) >= 3,
            ),
          { timeoutMs: 60_000, what: 'three refused deliveries per order' },
        );
        owitho.sim.clearFaults();
        await waitFor(() => ids.every((id) => (owitho.sim.order(id)?.callbacks.length ?? 0) > 0), {
          timeoutMs: 60_000,
          what: 'every callback delivered after the outage',
        });
        await waitFor(
          async () =>
            (await Promise.all(ids.map((id) => store.get(id)))).every((r) => r?.state === 'reported'),
          { what: 'every order reported' },
        );
        const refused = owitho.sim.requestCounts()['/order/callback']?.http503 ?? 0;
        let attemptsSum = 0;
        for (const id of ids) {
          const record = await store.get(id);
          const failures = record?.callback.attempts ?? 0;
          attemptsSum += failures;
          // never more than the schedule allows, and never dead
          expect(failures).toBeGreaterThanOrEqual(3);
          expect(failures).toBeLessThanOrEqual(schedule.length);
          expect(owitho.sim.order(id)?.callbacks).toHaveLength(1);
          // delivery k+1 came after the schedule's first k delays (minus jitter): not a tight loop
          const waited = schedule.slice(0, failures).reduce((s, d) => s + d, 0) * (1 - jitter);
          expect((record?.callback.reportedAt ?? 0) - (record?.finalAt ?? 0)).toBeGreaterThanOrEqual(waited);
        }
        // owitho saw exactly the refused deliveries the store counted: nothing in between
        expect(refused).toBe(attemptsSum);
        expect(await store.deadOrders()).toEqual([]);
      } finally {
        await system.close();
      }
    },
    120_000,
  );
});
