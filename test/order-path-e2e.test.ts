import { type OrderResult, orderResultSchema, readAnswer, signEnvelope } from '@owc/protocol';
import { redisTest, waitFor } from '@owc/testing';
import { describe, expect } from 'vitest';
import { type System, startSystem } from './system-support.js';

const APP = { appId: 'app-order-path', secretKey: 'order-path-secret-0001' };
const SEED = { machines: 3, slotsPerMachine: 12 };

/** The system with a worker tuned for quick retries: short vend timeout, lease wait and schedule. */
function startOrderPath(
  redisUrl: string,
  prefix: string,
  options: { workerEnv?: Record<string, string>; duplicateRate?: number } = {},
): Promise<System> {
  return startSystem(redisUrl, prefix, {
    app: APP,
    seed: SEED,
    // plenty of stock, so that every unit of the generated orders can drop
    inventory: 1000,
    owitho: { duplicateRate: options.duplicateRate ?? 0 },
    workerEnv: {
      GATEWAY_VEND_TIMEOUT_MS: '1000',
      MACHINE_LEASE_TTL_MS: '5000',
      MACHINE_LEASE_WAIT_MS: '20',
      VEND_RESOLVE_BACKOFF_MS: '50,100,200',
      JOB_LOCK_DURATION_MS: '5000',
      CALLBACK_SCHEDULE_MS: '200,400,800',
      CALLBACK_JITTER: '0.1',
      ...options.workerEnv,
    },
  });
}

/** owitho asking us `order/query`, signed with the tokens it honours. */
async function orderQuery(system: System, orderViewId: string): Promise<OrderResult> {
  const envelope = signEnvelope({ orderViewId }, { appId: APP.appId }, system.owitho.sim.liveTokens());
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
      const system = await startOrderPath(redisUrl, prefix, { duplicateRate: 0.3 });
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
      const system = await startOrderPath(redisUrl, prefix, {
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
