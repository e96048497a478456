import { HttpMachineGateway } from '@owc/gateway';
import { type StartedMachineSim, startMachineSim } from '@owc/machine-sim';
import { Registry } from '@owc/observability';
import { OrderStore } from '@owc/order-store';
import type { MachineLayout, OrderNotice } from '@owc/protocol';
import {
  CALLBACK_BACKOFF,
  CALLBACK_MAX_ATTEMPTS,
  callbackJobId,
  createConsumer,
  createProducer,
  dispenseJobId,
  type Producer,
} from '@owc/queues';
import { type FleetOptions, generateFleet } from '@owc/sim-fleet';
import { noticeFor, redisTest, silentLogger, TcpSwitch, waitFor } from '@owc/testing';
import {
  DispenseHandler,
  type DispenseSettings,
  dispenseMetrics,
  StuckOrders,
  stuckOrderMetrics,
} from '@owc/worker';
import type { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect } from 'vitest';
import { acceptOrder } from './order-path-support.js';

const DAY = 24 * 3600 * 1000;
const FLEET: FleetOptions = { machines: 3, slotsPerMachine: 6, inventory: 100 };
const fleet = generateFleet(FLEET);
const machine = (i: number) => {
  const m = fleet.machines[i];
  if (!m) throw new RangeError(`no machine #${i}`);
  return m;
};

const baseSettings = (prefix: string): DispenseSettings => ({
  keyPrefix: prefix,
  leaseTtlMs: 3000,
  leaseWaitMs: 20,
  retryBudget: 3,
  resolveBackoffMs: [50, 100, 200],
  retryDelayMs: 100,
  resolveGiveUpMs: 2000,
});

interface Rig {
  sim: StartedMachineSim;
  store: OrderStore;
  producer: Producer;
  registry: Registry;
  gateway: HttpMachineGateway;
  /** the TCP switch the pods reach machine-sim through (the test's own `gateway` goes direct) */
  link: TcpSwitch;
  /** starts one more dispense consumer (a "pod"), with its own connections */
  startWorker(options?: { settings?: Partial<DispenseSettings>; concurrency?: number }): Worker;
  close(): Promise<void>;
}

async function startRig(
  redisUrl: string,
  prefix: string,
  options: { vendDurationMs?: number; vendTimeoutMs?: number; extraMachines?: MachineLayout[] } = {},
): Promise<Rig> {
  const sim = await startMachineSim({
    ...(options.extraMachines
      ? { machines: [...fleet.machines, ...options.extraMachines] }
      : { fleet: FLEET }),
    vendDurationMs: options.vendDurationMs ?? 10,
  });
  const link = await TcpSwitch.start(sim.url);
  const connections: Redis[] = [];
  const connect = () => {
    const c = new Redis(redisUrl, { maxRetriesPerRequest: null });
    connections.push(c);
    return c;
  };
  const redis = connect();
  const store = new OrderStore({ redis, keyPrefix: prefix, ttlMs: DAY });
  const producer = createProducer(redis, { keyPrefix: prefix });
  const registry = new Registry();
  const gateway = new HttpMachineGateway({
    baseUrl: sim.url,
    vendTimeoutMs: options.vendTimeoutMs ?? 2000,
    queryTimeoutMs: 1000,
  });
  const logger = silentLogger('dispense-test');
  const workers: Worker[] = [];
  const gateways: HttpMachineGateway[] = [gateway];
  return {
    sim,
    store,
    producer,
    registry,
    gateway,
    link,
    startWorker(workerOptions = {}) {
      const podRedis = connect();
      const podGateway = new HttpMachineGateway({
        baseUrl: link.url,
        vendTimeoutMs: options.vendTimeoutMs ?? 2000,
        queryTimeoutMs: 1000,
      });
      gateways.push(podGateway);
      const handler = new DispenseHandler({
        redis: podRedis,
        store: new OrderStore({ redis: podRedis, keyPrefix: prefix, ttlMs: DAY }),
        gateway: podGateway,
        producer: createProducer(podRedis, { keyPrefix: prefix }),
        settings: { ...baseSettings(prefix), ...workerOptions.settings },
        metrics: dispenseMetrics(registry, { machineLabelsMax: 100 }),
        logger,
      });
      const worker = createConsumer(
        'dispense',
        { 'order.dispense': handler.handle },
        { connection: connect(), keyPrefix: prefix, concurrency: workerOptions.concurrency ?? 4 },
      );
      workers.push(worker);
      return worker;
    },
    async close() {
      await Promise.all(workers.map((w) => w.close()));
      await producer.close();
      await Promise.all(gateways.map((g) => g.close()));
      await link.close();
      await sim.close();
      for (const c of connections) c.disconnect();
    },
  };
}

async function allFinal(store: OrderStore, ids: readonly string[]): Promise<boolean> {
  const records = await Promise.all(ids.map((id) => store.get(id)));
  return records.every((r) => r?.state === 'final');
}

async function metricValue(registry: Registry, name: string): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values.reduce((sum, v) => sum + v.value, 0);
}

describe('dispense handler against the machine simulator', () => {
  redisTest(
    'every unit vended once; one vend at a time per machine across two pods; machines in parallel',
    async ({ redisUrl, prefix }) => {
      const rig = await startRig(redisUrl, prefix, { vendDurationMs: 40 });
      try {
        rig.startWorker();
        rig.startWorker();
        const notices: OrderNotice[] = [];
        for (let i = 0; i < 24; i++) {
          const m = machine(i % 3);
          notices.push(
            noticeFor(`P${i}`, m, [
              [i % 6, 1 + (i % 3)],
              [(i + 1) % 6, 1],
            ]),
          );
        }
        await Promise.all(notices.map((n) => acceptOrder(rig.store, rig.producer, n)));
        const ids = notices.map((n) => n.orderViewId);
        await waitFor(() => allFinal(rig.store, ids), { what: 'every order final', timeoutMs: 45_000 });

        const units = notices.reduce(
          (sum, n) => sum + n.orderDetailList.reduce((s, l) => s + l.quantity, 0),
          0,
        );
        const ledger = rig.sim.sim.ledger();
        expect(ledger).toHaveLength(units);
        expect(new Set(ledger.map((e) => e.vendId)).size).toBe(units);
        expect(ledger.every((e) => e.status === 'success')).toBe(true);
        const overlaps = rig.sim.sim.overlaps();
        expect(overlaps.total).toBe(0);
        for (const m of Object.values(overlaps.machines)) expect(m.maxConcurrency).toBeLessThanOrEqual(1);
        // different machines ran at the same time: some two vends on different machines overlap
        const parallel = ledger.some((a) =>
          ledger.some(
            (b) =>
              a.machineCode !== b.machineCode && a.startedAt < b.finishedAt && b.startedAt < a.finishedAt,
          ),
        );
        expect(parallel).toBe(true);
        // the pods had to wait for each other's leases, without failing any job
        expect(await metricValue(rig.registry, 'owc_machine_lease_waits_total')).toBeGreaterThan(0);
        expect(await rig.producer.queue('dispense').getFailedCount()).toBe(0);

        for (const n of notices) {
          const record = await rig.store.get(n.orderViewId);
          expect(record?.result?.outStatus).toBe(200);
          const job = await rig.producer.queue('callback').getJob(callbackJobId(n.orderViewId));
          expect(job?.data).toEqual({ orderViewId: n.orderViewId });
          expect(job?.opts).toMatchObject({
            attempts: CALLBACK_MAX_ATTEMPTS,
            backoff: { type: CALLBACK_BACKOFF },
          });
        }
        expect(await rig.producer.queue('callback').count()).toBe(notices.length);
      } finally {
        await rig.close();
      }
    },
  );

  redisTest(
    'unpaid and refunded orders: no machine touched, every unit 400',
    async ({ redisUrl, prefix }) => {
      const rig = await startRig(redisUrl, prefix);
      try {
        rig.startWorker();
        const unpaid = noticeFor('U1', machine(0), [[0, 2]], { payStatus: 0 });
        const refunded = noticeFor('U2', machine(1), [[1, 1]], { refundStatus: 1 });
        await acceptOrder(rig.store, rig.producer, unpaid);
        await acceptOrder(rig.store, rig.producer, refunded);
        await waitFor(() => allFinal(rig.store, ['U1', 'U2']), { what: 'both final' });
        expect(rig.sim.sim.ledger()).toEqual([]);
        const u1 = await rig.store.get('U1');
        expect(u1?.result).toEqual({
          orderViewId: 'U1',
          outStatus: 400,
          outDetailList: [
            { slotNum: '01', skuCode: machine(0).slotList[0]?.skuCode, status: 400 },
            { slotNum: '01', skuCode: machine(0).slotList[0]?.skuCode, status: 400 },
          ],
        });
        expect([...(u1?.unitStates.values() ?? [])].map((s) => (s.s === 'failed' ? s.reason : s.s))).toEqual([
          'not_paid',
          'not_paid',
        ]);
        const u2 = await rig.store.get('U2');
        expect(u2?.result?.outStatus).toBe(400);
        expect(u2?.unitStates.get(0)).toMatchObject({ s: 'failed', reason: 'refunded' });
        expect(await rig.producer.queue('callback').getJob(callbackJobId('U1'))).toBeDefined();
      } finally {
        await rig.close();
      }
    },
  );

  redisTest(
    'a machine with two containers: a notice naming one vends there; naming none, every unit 400, never a guess',
    async ({ redisUrl, prefix }) => {
      const a1 = { ...structuredClone(machine(0)), machineCode: 'M9', containerCode: 'A1' };
      const b2 = { ...structuredClone(machine(0)), machineCode: 'M9', containerCode: 'B2' };
      const rig = await startRig(redisUrl, prefix, { extraMachines: [a1, b2] });
      try {
        rig.startWorker();
        const named = noticeFor('C1', b2, [[0, 2]]);
        const unnamed = noticeFor('C2', b2, [[0, 1]], { containerCode: '' });
        const { containerCode: _, ...missing } = noticeFor('C3', b2, [[0, 1]]);
        const single = noticeFor('C4', machine(1), [[0, 1]], { containerCode: null });
        for (const n of [named, unnamed, missing, single]) await acceptOrder(rig.store, rig.producer, n);
        await waitFor(() => allFinal(rig.store, ['C1', 'C2', 'C3', 'C4']), { what: 'all four final' });
        expect((await rig.store.get('C1'))?.result?.outStatus).toBe(200);
        for (const id of ['C2', 'C3']) {
          const record = await rig.store.get(id);
          expect(record?.result?.outStatus).toBe(400);
          expect(record?.unitStates.get(0)).toMatchObject({
            s: 'failed',
            reason: expect.stringMatching(/^container_not_named: machine has 2 containers \(A1, B2\)/),
          });
        }
        // the machine's only container vends when the notice names none
        expect((await rig.store.get('C4'))?.result?.outStatus).toBe(200);
        expect(
          rig.sim.sim
            .ledger()
            .map((e) => `${e.vendId} ${e.machineCode}/${e.containerCode}`)
            .sort(),
        ).toEqual(['C1-0 M9/B2', 'C1-1 M9/B2', `C4-0 ${machine(1).machineCode}/01`]);
      } finally {
        await rig.close();
      }
    },
  );

  redisTest('a lost answer is resolved by asking, never by vending again', async ({ redisUrl, prefix }) => {
    const rig = await startRig(redisUrl, prefix, { vendTimeoutMs: 300 });
    try {
      rig.sim.sim.setMachineFaults(machine(0).machineCode, { loseAnswers: { count: 1, holdMs: 1500 } });
      rig.startWorker();
      await acceptOrder(rig.store, rig.producer, noticeFor('L1', machine(0), [[2, 2]]));
      await waitFor(() => allFinal(rig.store, ['L1']), { what: 'L1 final' });
      const ledger = rig.sim.sim.ledger();
      expect(ledger.map((e) => e.vendId).sort()).toEqual(['L1-0', 'L1-1']);
      expect(ledger.filter((e) => e.answerLost)).toHaveLength(1);
      expect(rig.sim.sim.stats().dedupedRequests).toBe(0);
      expect((await rig.store.get('L1'))?.result?.outStatus).toBe(200);
    } finally {
      await rig.close();
    }
  });

  redisTest(
    'resumes after a crash: a sent unit is asked about (pending → success), an unsent one vended once',
    async ({ redisUrl, prefix }) => {
      const rig = await startRig(redisUrl, prefix);
      try {
        const m = machine(1);
        const notice = noticeFor('R1', m, [[0, 3]]);
        await rig.store.accept(notice);
        await rig.store.indexAccepted('R1');
        // a previous run marked unit 0 and sent it (still moving when it died) …
        rig.sim.sim.setMachineFaults(m.machineCode, { extraLatencyMs: 600 });
        await rig.store.markAttempted('R1', 0);
        const inFlight = rig.gateway
          .vend(m.machineCode, {
            vendId: 'R1-0',
            containerCode: notice.containerCode ?? undefined,
            slotNum: '01',
            skuCode: m.slotList[0]?.skuCode ?? '',
          })
          .catch(() => undefined);
        await waitFor(() => rig.sim.sim.getVend('R1-0')?.status === 'pending', { what: 'R1-0 pending' });
        // … and marked unit 1 but died before its request left
        await rig.store.markAttempted('R1', 1);
        rig.startWorker();
        await rig.producer.enqueue('order.dispense', { orderViewId: 'R1', machineCode: m.machineCode });
        await waitFor(() => allFinal(rig.store, ['R1']), { what: 'R1 final' });
        await inFlight;
        const ledger = rig.sim.sim.ledger();
        expect(ledger.map((e) => e.vendId).sort()).toEqual(['R1-0', 'R1-1', 'R1-2']);
        expect(rig.sim.sim.stats().dedupedRequests).toBe(0);
        expect(rig.sim.sim.overlaps().total).toBe(0);
        const record = await rig.store.get('R1');
        expect(record?.result?.outStatus).toBe(200);
        // unit 1 was marked twice: once by the dead run, once before its real send
        expect(record?.unitStates.get(1)).toMatchObject({ s: 'success' });
      } finally {
        await rig.close();
      }
    },
  );

  redisTest(
    'machine offline: retried after the delay until the budget is spent, then 400; recovers in time',
    async ({ redisUrl, prefix }) => {
      const rig = await startRig(redisUrl, prefix);
      try {
        rig.sim.sim.setMachineFaults(machine(0).machineCode, { machineStatus: 20 });
        rig.sim.sim.setMachineFaults(machine(1).machineCode, { machineStatus: 30 });
        rig.startWorker({ settings: { retryBudget: 2, retryDelayMs: 100 } });
        await acceptOrder(rig.store, rig.producer, noticeFor('O1', machine(0), [[0, 2]]));
        await waitFor(() => allFinal(rig.store, ['O1']), { what: 'O1 final' });
        const o1 = await rig.store.get('O1');
        expect(o1?.result?.outStatus).toBe(400);
        expect(o1?.unitStates.get(0)).toMatchObject({ s: 'failed', reason: 'machine_offline' });
        expect(o1?.unitStates.get(1)).toMatchObject({ s: 'failed', reason: 'machine_offline' });
        expect(rig.sim.sim.stats().byMachine[machine(0).machineCode]?.refused).toBe(4);
        expect(rig.sim.sim.ledger()).toEqual([]);

        // machine 1 has a fault that clears before the budget (5 sends, 300 ms apart) runs out
        rig.startWorker({ settings: { retryBudget: 5, retryDelayMs: 300 } });
        await acceptOrder(rig.store, rig.producer, noticeFor('O2', machine(1), [[1, 1]]));
        await waitFor(() => (rig.sim.sim.stats().byMachine[machine(1).machineCode]?.refused ?? 0) >= 1, {
          intervalMs: 5,
          what: 'a refusal',
        });
        rig.sim.sim.setMachineFaults(machine(1).machineCode, { machineStatus: 10 });
        await waitFor(() => allFinal(rig.store, ['O2']), { what: 'O2 final' });
        expect((await rig.store.get('O2'))?.result?.outStatus).toBe(200);
        expect(rig.sim.sim.ledger().map((e) => e.vendId)).toEqual(['O2-0']);
      } finally {
        await rig.close();
      }
    },
  );

  redisTest('a jammed slot fails its units for good: outStatus 300', async ({ redisUrl, prefix }) => {
    const rig = await startRig(redisUrl, prefix);
    try {
      const m = machine(2);
      rig.sim.sim.setSlotFaults(m.machineCode, '02', { jammed: true });
      rig.startWorker();
      await acceptOrder(
        rig.store,
        rig.producer,
        noticeFor('J1', m, [
          [0, 1],
          [1, 1],
        ]),
      );
      await waitFor(() => allFinal(rig.store, ['J1']), { what: 'J1 final' });
      const record = await rig.store.get('J1');
      expect(record?.result?.outStatus).toBe(300);
      expect(record?.result?.outDetailList.map((d) => d.status)).toEqual([200, 400]);
      expect(record?.unitStates.get(1)).toMatchObject({ s: 'failed', reason: 'jammed' });
      // a jam is final: the unit was tried once
      expect(rig.sim.sim.ledger().filter((e) => e.vendId === 'J1-1')).toHaveLength(1);
    } finally {
      await rig.close();
    }
  });

  redisTest(
    'stuck orders: a missing dispense job and a missing callback job are re-created by the sweep',
    async ({ redisUrl, prefix }) => {
      const rig = await startRig(redisUrl, prefix);
      try {
        const stuck = new StuckOrders({
          store: rig.store,
          producer: rig.producer,
          stuckAfterMs: 0,
          logger: silentLogger('stuck-test'),
          metrics: stuckOrderMetrics(rig.registry),
        });
        // accepted, but its job never got written
        await rig.store.accept(noticeFor('S1', machine(0), [[0, 1]]));
        await rig.store.indexAccepted('S1', Date.now() - 1000);
        // final, but its callback job is gone
        const finalOnly = noticeFor('S2', machine(1), [[0, 1]]);
        await rig.store.accept(finalOnly);
        await rig.store.indexAccepted('S2', Date.now() - 1000);
        await rig.store.recordUnitResult('S2', 0, { status: 'success' });
        await rig.store.finalize('S2');
        // final, but its dispense job has not finished: that job sees to the callback, not the sweep
        await acceptOrder(rig.store, rig.producer, noticeFor('S3', machine(2), [[0, 1]]));
        await rig.store.recordUnitResult('S3', 0, { status: 'success' });
        await rig.store.finalize('S3');

        const listed = await stuck.list(0);
        expect(listed.map((o) => [o.orderViewId, o.kind, o.job.queue, o.job.state])).toEqual([
          ['S1', 'dispensing', 'dispense', 'missing'],
          ['S2', 'unreported', 'callback', 'missing'],
          ['S3', 'unreported', 'dispense', 'waiting'],
        ]);
        const { actions } = await stuck.sweep();
        expect(actions.map((a) => [a.orderViewId, a.action, a.jobId])).toEqual([
          ['S1', 'enqueued', dispenseJobId('S1')],
          ['S2', 'enqueued', callbackJobId('S2')],
        ]);
        expect(await metricValue(rig.registry, 'owc_orders_stuck')).toBe(3);
        expect(await rig.producer.queue('callback').getJob(callbackJobId('S3'))).toBeUndefined();
        // a second sweep finds the jobs and changes nothing
        expect((await stuck.sweep()).actions).toEqual([]);
        rig.startWorker();
        await waitFor(() => allFinal(rig.store, ['S1']), { what: 'S1 final' });
        expect(rig.sim.sim.ledger().map((e) => e.vendId)).toEqual(['S1-0']);
        // S3's dispense job ran: it found the order final and added its callback job
        await waitFor(
          async () => (await rig.producer.queue('callback').getJob(callbackJobId('S3'))) !== undefined,
          {
            what: "S3's callback job",
          },
        );
      } finally {
        await rig.close();
      }
    },
  );

  redisTest(
    'a vend whose connection was reset on its last attempt is asked about, not settled failed',
    async ({ redisUrl, prefix }) => {
      const rig = await startRig(redisUrl, prefix, { vendDurationMs: 600 });
      try {
        // one send per unit: the first is the last, so nothing but asking can settle it
        rig.startWorker({ settings: { retryBudget: 1, retryDelayMs: 100 } });
        await acceptOrder(rig.store, rig.producer, noticeFor('RST1', machine(0), [[0, 1]]));
        // the vend reached the machine, which drops the unit; the link breaks before the answer
        await waitFor(() => rig.sim.sim.getVend('RST1-0')?.status === 'pending', {
          intervalMs: 5,
          what: 'the vend received',
        });
        await rig.link.set('refuse');
        await waitFor(async () => (await metricValue(rig.registry, 'owc_machine_vends_total')) >= 1, {
          intervalMs: 5,
          what: 'the send failed',
        });
        await rig.link.set('pass');
        await waitFor(() => allFinal(rig.store, ['RST1']), { what: 'RST1 final' });
        await waitFor(() => rig.sim.sim.getVend('RST1-0')?.status !== 'pending', {
          what: 'the unit dropped',
        });
        expect(rig.sim.sim.ledger().map((e) => e.vendId)).toEqual(['RST1-0']);
        const record = await rig.store.get('RST1');
        expect(record?.unitStates.get(0)).toMatchObject({ s: 'success' });
        expect(record?.result?.outStatus).toBe(200);
      } finally {
        await rig.close();
      }
    },
  );

  redisTest(
    'a gateway refusing for longer than the retry budget: the unit waits, asked about, and is vended once it is back',
    async ({ redisUrl, prefix }) => {
      const rig = await startRig(redisUrl, prefix);
      try {
        await rig.link.set('refuse');
        rig.startWorker({ settings: { retryBudget: 2, retryDelayMs: 100, resolveGiveUpMs: 200 } });
        await acceptOrder(rig.store, rig.producer, noticeFor('DOWN1', machine(0), [[0, 1]]));
        // many times budget x delay: every run asks first, and the question cannot be put
        await waitFor(
          async () =>
            (await metricValue(rig.registry, 'owc_dispense_unit_retries_total')) >= 6 &&
            (await rig.store.get('DOWN1'))?.state === 'dispensing',
          { timeoutMs: 30_000, what: 'six retries' },
        );
        expect((await rig.store.get('DOWN1'))?.unitStates.get(0)).toMatchObject({ s: 'attempted', n: 1 });
        await rig.link.set('pass');
        await waitFor(() => allFinal(rig.store, ['DOWN1']), { what: 'DOWN1 final' });
        expect((await rig.store.get('DOWN1'))?.unitStates.get(0)).toMatchObject({ s: 'success' });
        expect(rig.sim.sim.ledger().map((e) => e.vendId)).toEqual(['DOWN1-0']);
      } finally {
        await rig.close();
      }
    },
  );
});
