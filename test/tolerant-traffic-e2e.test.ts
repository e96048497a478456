import { type NoticeForm, tolerantForms, UNKNOWN_PAY_METHOD, UNKNOWN_STATUS } from '@owc/owitho-sim';
import { centsToMoney, type MachineLayout } from '@owc/protocol';
import { createProducer } from '@owc/queues';
import { generateFleet } from '@owc/sim-fleet';
import { redisTest, waitFor } from '@owc/testing';
import { describe, expect } from 'vitest';
import { startSystem } from './system-support.js';

const APP = { appId: 'app-tolerant', secretKey: 'tolerant-traffic-secret-01' };
/** share 0.5 over 48 orders: 24 tolerant ones, each of the 8 forms three times */
const ORDERS = 48;
const SHARE = 0.5;

/** M001 and M004 have one container ("01"), M002 and M003 two (A1, B2); plenty of stock. */
function fleet(): MachineLayout[] {
  const machines = generateFleet({ machines: 4, slotsPerMachine: 6, inventory: 1000 }).machines;
  return machines.flatMap((m, i) =>
    i === 1 || i === 2
      ? [
          { ...m, containerCode: 'A1' },
          // the second container holds other SKUs, so a vend from the wrong one would fail sku_mismatch
          { ...m, containerCode: 'B2', slotList: structuredClone(machines[(i + 1) % 4]?.slotList ?? []) },
        ]
      : [m],
  );
}

describe('mixed traffic in the forms owitho may legally send (issue 12), both simulators, real Redis', () => {
  redisTest(
    `${ORDERS} generated orders, tolerant share ${SHARE}: every unit of a paid order vended once from its container and called back, nothing of an unpaid or unknown-status one, no legal form refused`,
    async ({ redis, redisUrl, prefix }) => {
      const layouts = fleet();
      const system = await startSystem(redisUrl, prefix, {
        app: APP,
        machineSim: { machines: layouts },
        owitho: { tolerantShare: SHARE },
        workerEnv: {
          WORKER_ROLES: 'token,dispense,callback,sync',
          MACHINE_LEASE_WAIT_MS: '20',
          CALLBACK_SCHEDULE_MS: '200,400,800',
          MACHINE_SYNC_QUIET_MS: '50',
          MACHINE_SYNC_MAX_WAIT_MS: '200',
        },
      });
      const { machines, owitho, worker } = system;
      const producer = createProducer(redis, { keyPrefix: prefix });
      try {
        // owitho learns the fleet through machine/sync: a restock naming no container sends one per container
        for (const code of machines.sim.machineCodes())
          await producer.enqueue('machine.restocked', { machineCode: code });
        await waitFor(() => owitho.sim.machines().length === layouts.length, {
          timeoutMs: 30_000,
          what: 'every container of every machine in owitho’s view',
        });
        for (const code of ['M002', 'M003']) {
          expect(owitho.sim.containers(code)).toEqual([
            machines.sim.getMachine(code, 'A1'),
            machines.sim.getMachine(code, 'B2'),
          ]);
        }

        const ids = owitho.sim.pushGenerated(ORDERS);
        const store = worker.context.store;
        // Answers other than HTTP 200 code 200. A 503 (we could not store it in time, on a loaded
        // machine) is "push again", not a refusal; an HTTP 200 with another code is a refusal.
        const refusals = (answers: Record<string, number>) =>
          Object.keys(answers).filter((k) => k !== '200 200' && !k.startsWith('503 '));
        // a refused form is never acked (owitho re-pushes it forever): stop waiting and show it below
        const refused = () => ids.some((id) => refusals(owitho.sim.order(id)?.answers ?? {}).length > 0);
        await waitFor(
          async () =>
            refused() ||
            (await Promise.all(ids.map((id) => store.get(id)))).every((r) => r?.state === 'reported'),
          { timeoutMs: 40_000, what: 'every order dispensed and reported' },
        );

        const orders = ids.map((id) => {
          const state = owitho.sim.order(id);
          if (!state?.generated) throw new Error(`no record of generated order ${id}`);
          return { ...state, generated: state.generated };
        });
        // first: no legal form refused (its message says which field and why)
        expect(
          orders
            .filter((o) => refusals(o.answers).length > 0)
            .map((o) => ({
              form: o.generated.form,
              answers: o.answers,
              refusal: o.lastRefusal,
              sent: o.raw,
            })),
        ).toEqual([]);
        const ledger = machines.sim.ledger();
        expect(new Set(ledger.map((e) => e.vendId)).size).toBe(ledger.length);

        // each form: what we answered, what was vended, what owitho was told
        const outcomes = new Map<NoticeForm, Set<string>>();
        for (const order of orders) {
          const { form, dispensable, units, cents, containerCode, machineCode } = order.generated;
          const vends = ledger.filter((e) => e.vendId.startsWith(`${order.orderViewId}-`));
          const callback = order.callbacks[0]?.payload;
          const vended =
            vends.length === units
              ? 'every unit vended'
              : vends.length === 0
                ? 'nothing vended'
                : 'some vended';
          const answered = Object.keys(order.answers).filter((k) => !k.startsWith('503 '));
          const outcome = `answered ${answered.join(', ')}; ${vended}; called back ${callback?.outStatus}`;
          outcomes.set(form, (outcomes.get(form) ?? new Set()).add(outcome));

          // acked once with HTTP 200 code 200, never refused (no duplicates are pushed in this run)
          expect({
            id: order.orderViewId,
            form,
            acks: order.answers['200 200'],
            refused: refusals(order.answers),
          }).toEqual({
            id: order.orderViewId,
            form,
            acks: 1,
            refused: [],
          });
          expect(order.callbacks).toHaveLength(1);
          expect(callback?.outDetailList).toHaveLength(units);
          if (dispensable) {
            // one vend per unit, each from the container the order's units are in
            expect(vends.map((e) => e.vendId).sort()).toEqual(
              Array.from({ length: units }, (_, i) => `${order.orderViewId}-${i}`).sort(),
            );
            for (const e of vends)
              expect(e).toMatchObject({
                machineCode,
                containerCode: containerCode ?? '01',
                status: 'success',
              });
            expect(callback?.outStatus).toBe(200);
            expect(callback?.outDetailList.every((d) => d.status === 200)).toBe(true);
          } else {
            expect(vends).toEqual([]);
            expect(callback?.outStatus).toBe(400);
            expect(callback?.outDetailList.every((d) => d.status === 400)).toBe(true);
          }
          // read exactly, whatever form the money travelled in; an unknown payMethod kept as sent
          const record = await store.get(order.orderViewId);
          if (!dispensable) {
            const reason = order.generated.paid ? 'refunded' : 'not_paid';
            expect([...(record?.unitStates.values() ?? [])]).toEqual(
              Array.from({ length: units }, () => expect.objectContaining({ s: 'failed', reason })),
            );
          }
          expect(record?.notice).toMatchObject({
            actualAmount: centsToMoney(cents.actualAmount),
            originAmount: centsToMoney(cents.originAmount),
            discountMoney: centsToMoney(cents.discountMoney),
            payMethod: form === 'unknown-pay-method' ? UNKNOWN_PAY_METHOD : 2,
            payStatus: form === 'unknown-pay-status' ? UNKNOWN_STATUS : order.generated.paid ? 1 : 0,
            refundStatus: form === 'unknown-refund-status' ? UNKNOWN_STATUS : 0,
          });
        }
        const paidUnits = orders
          .filter((o) => o.generated.dispensable)
          .reduce((s, o) => s + o.generated.units, 0);
        expect(ledger).toHaveLength(paidUnits);
        expect(machines.sim.overlaps().total).toBe(0);

        // the closing note's table: each form tried and the one outcome it got, three times each
        const vendedOk = 'answered 200 200; every unit vended; called back 200';
        expect(Object.fromEntries([...outcomes].map(([form, o]) => [form, [...o]]))).toEqual({
          canonical: [vendedOk],
          ...Object.fromEntries(
            tolerantForms.map((form) => [
              form,
              [
                ['unpaid-without-pay-time', 'unknown-pay-status', 'unknown-refund-status'].includes(form)
                  ? 'answered 200 200; nothing vended; called back 400'
                  : vendedOk,
              ],
            ]),
          ),
        });
        expect(orders.filter((o) => o.generated.form !== 'canonical')).toHaveLength(ORDERS * SHARE);
      } finally {
        await producer.close();
        await system.close();
      }
    },
    90_000,
  );
});
