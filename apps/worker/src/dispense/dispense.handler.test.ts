import { setTimeout as sleep } from 'node:timers/promises';
import type { MachineGateway, VendAnswer, VendRequest } from '@owc/gateway';
import { Registry } from '@owc/observability';
import { OrderStore, OrderTimeline } from '@owc/order-store';
import type { OrderNotice } from '@owc/protocol';
import {
  CALLBACK_BACKOFF,
  callbackJobId,
  createConsumer,
  createProducer,
  dispenseJobId,
  type Producer,
} from '@owc/queues';
import { redisTest, sampleNotice, silentLogger, waitFor } from '@owc/testing';
import type { Job, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect } from 'vitest';
import { CallbackHandler } from '../callback/callback.handler.js';
import { CallbackDelivery } from '../callback/callback-delivery.js';
import { callbackBackoffStrategy } from '../callback/callback-jobs.js';
import { callbackMetrics } from '../callback/callback-metrics.js';
import { ScriptedOwitho } from '../callback/scripted-owitho.test-kit.js';
import { TimelineWriter } from '../timeline-writer.js';
import { DispenseHandler, type DispenseOutcome, type DispenseSettings } from './dispense.handler.js';
import { dispenseMetrics, stuckOrderMetrics } from './dispense-metrics.js';
import { machineLeaseKey } from './machine-lease.js';
import { StuckOrders } from './stuck-orders.js';

interface Vend {
  machineCode: string;
  vendId: string;
  startedAt: number;
  finishedAt?: number;
}

/** A gateway in this process: every vend succeeds after `vendMs`; it keeps a ledger. */
class SlowGateway implements MachineGateway {
  readonly ledger: Vend[] = [];

  constructor(private readonly vendMs: number) {}

  async vend(machineCode: string, request: VendRequest): Promise<VendAnswer> {
    const entry: Vend = { machineCode, vendId: request.vendId, startedAt: Date.now() };
    this.ledger.push(entry);
    await sleep(this.vendMs);
    entry.finishedAt = Date.now();
    return { vendId: request.vendId, status: 'success', finishedAt: entry.finishedAt };
  }

  async getVend(vendId: string): Promise<VendAnswer | undefined> {
    const entry = this.ledger.find((e) => e.vendId === vendId);
    if (!entry) return undefined;
    return entry.finishedAt === undefined
      ? { vendId, status: 'pending' }
      : { vendId, status: 'success', finishedAt: entry.finishedAt };
  }

  async getMachine(): Promise<undefined> {
    return undefined;
  }

  async getContainers(): Promise<undefined> {
    return undefined;
  }

  async close(): Promise<void> {}

  /** vends on the machine that ran at the same time as another of its vends */
  overlaps(machineCode: string): number {
    const vends = this.ledger.filter((e) => e.machineCode === machineCode);
    return vends.filter((a) =>
      vends.some(
        (b) =>
          a !== b && a.startedAt < (b.finishedAt ?? Infinity) && b.startedAt < (a.finishedAt ?? Infinity),
      ),
    ).length;
  }
}

const settings = (prefix: string): DispenseSettings => ({
  keyPrefix: prefix,
  leaseTtlMs: 3000,
  leaseWaitMs: 5000,
  retryBudget: 3,
  resolveBackoffMs: [50, 100],
  retryDelayMs: 100,
  resolveGiveUpMs: 2000,
});

/** the callback schedule of the pods that call owitho (jitter 0) */
const SCHEDULE = [300, 600];

interface Pod {
  worker: Worker;
  /** what each dispense job returned, by job id */
  outcomes: Map<string, DispenseOutcome>;
  timeline: OrderTimeline;
  stopping: AbortController;
  /** how many times the handler ran, per job id */
  runs: Map<string, number>;
  stalled: string[];
  store: OrderStore;
  producer: Producer;
  registry: Registry;
  close(): Promise<void>;
}

function startPod(
  redisUrl: string,
  prefix: string,
  gateway: MachineGateway,
  options: {
    concurrency: number;
    lockDurationMs?: number;
    /** owitho, for the dispense job's first callback delivery (CALLBACK_FIRST_DELIVERY=inline) */
    owitho?: ScriptedOwitho;
    /** first deliveries in flight at most (default 16) */
    maxInFlight?: number;
    /** a callback consumer too (the callback role), sharing the delivery and its metrics */
    callbackRole?: boolean;
  },
): Pod {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const callbackConnection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const store = new OrderStore({ redis, keyPrefix: prefix, ttlMs: 3600_000 });
  const producer = createProducer(redis, { keyPrefix: prefix });
  const registry = new Registry();
  const stopping = new AbortController();
  const logger = silentLogger('dispense-handler-test');
  const timeline = new OrderTimeline({ redis, keyPrefix: prefix, ttlMs: 3600_000, maxEvents: 100 });
  const timelineWriter = new TimelineWriter(timeline, logger);
  const delivery = options.owitho
    ? new CallbackDelivery({
        store,
        owitho: options.owitho,
        scheduleMs: SCHEDULE,
        jitter: 0,
        metrics: callbackMetrics(registry, store),
      })
    : undefined;
  const handler = new DispenseHandler({
    redis,
    store,
    gateway,
    producer,
    settings: settings(prefix),
    metrics: dispenseMetrics(registry, { machineLabelsMax: 10 }),
    logger,
    timeline: timelineWriter,
    stopping: stopping.signal,
    ...(delivery ? { firstDelivery: { delivery, maxInFlight: options.maxInFlight ?? 16 } } : {}),
  });
  const runs = new Map<string, number>();
  const outcomes = new Map<string, DispenseOutcome>();
  const worker = createConsumer(
    'dispense',
    {
      'order.dispense': async (payload, job: Job, token?: string) => {
        runs.set(String(job.id), (runs.get(String(job.id)) ?? 0) + 1);
        const outcome = await handler.handle(payload, job, token);
        outcomes.set(String(job.id), outcome);
        return outcome;
      },
    },
    {
      connection,
      keyPrefix: prefix,
      concurrency: options.concurrency,
      ...(options.lockDurationMs
        ? { lockDuration: options.lockDurationMs, stalledInterval: options.lockDurationMs }
        : {}),
    },
  );
  const stalled: string[] = [];
  worker.on('stalled', (jobId) => stalled.push(jobId));
  const callbackWorker =
    delivery && options.callbackRole
      ? createConsumer(
          'callback',
          {
            'order.callback': new CallbackHandler({ store, delivery, logger, timeline: timelineWriter })
              .handle,
          },
          {
            connection: callbackConnection,
            keyPrefix: prefix,
            concurrency: 4,
            settings: { backoffStrategy: callbackBackoffStrategy(SCHEDULE, 0) },
          },
        )
      : undefined;
  return {
    worker,
    outcomes,
    timeline,
    stopping,
    runs,
    stalled,
    store,
    producer,
    registry,
    async close() {
      stopping.abort();
      await Promise.all([worker.close(), callbackWorker?.close()]);
      await producer.close();
      connection.disconnect();
      callbackConnection.disconnect();
      redis.disconnect();
    },
  };
}

function notice(orderViewId: string, machineCode: string, units: number): OrderNotice {
  return sampleNotice(orderViewId, {
    machineCode,
    orderDetailList: [
      { skuCode: 'COLA', slotNum: '01', quantity: units, originalPrice: '2.00', actualPrice: '1.50' },
    ],
  });
}

async function accept(pod: Pod, notices: readonly OrderNotice[]): Promise<void> {
  for (const n of notices) {
    await pod.store.accept(n);
    await pod.producer.enqueue(
      'order.dispense',
      { orderViewId: n.orderViewId, machineCode: n.machineCode },
      { jobId: dispenseJobId(n.orderViewId) },
    );
  }
}

async function allFinal(store: OrderStore, notices: readonly OrderNotice[]): Promise<boolean> {
  const records = await Promise.all(notices.map((n) => store.get(n.orderViewId)));
  return records.every((r) => r?.state === 'final');
}

async function leaseWaits(registry: Registry): Promise<number> {
  const metric = registry.getSingleMetric('owc_machine_lease_waits_total');
  const values = metric ? (await metric.get()).values : [];
  return values.reduce((sum, v) => sum + v.value, 0);
}

describe('DispenseHandler: jobs of one pod for one machine', () => {
  redisTest(
    'wait in-process behind each other and hand the lease on: one lease token for the whole run, no step back, machines in parallel',
    async ({ redis, redisUrl, prefix }) => {
      const gateway = new SlowGateway(60);
      const pod = startPod(redisUrl, prefix, gateway, { concurrency: 8 });
      const tokens = new Set<string>();
      const sampler = setInterval(() => {
        void redis.get(machineLeaseKey(prefix, 'M1')).then((token) => {
          if (token) tokens.add(token);
        });
      }, 5);
      try {
        const onM1 = Array.from({ length: 5 }, (_, i) => notice(`T${i}`, 'M1', 2));
        const onM2 = [notice('U0', 'M2', 3)];
        await accept(pod, [...onM1, ...onM2]);
        await waitFor(() => allFinal(pod.store, [...onM1, ...onM2]), { what: 'every order final' });
        clearInterval(sampler);

        expect(gateway.ledger).toHaveLength(13);
        expect(new Set(gateway.ledger.map((e) => e.vendId)).size).toBe(13);
        expect(gateway.overlaps('M1')).toBe(0);
        // each order's units one after the other, under one hold
        const m1 = gateway.ledger.filter((e) => e.machineCode === 'M1').map((e) => e.vendId);
        for (const n of onM1) {
          const at = m1.indexOf(`${n.orderViewId}-0`);
          expect(m1[at + 1]).toBe(`${n.orderViewId}-1`);
        }
        // the lease was taken once and handed from order to order, never released in between
        expect(tokens.size).toBe(1);
        expect(await leaseWaits(pod.registry)).toBe(0);
        expect([...pod.runs.values()].every((n) => n === 1)).toBe(true);
        // M2 vended while M1 did
        const m2 = gateway.ledger.find((e) => e.machineCode === 'M2');
        expect(
          gateway.ledger.some(
            (e) =>
              e.machineCode === 'M1' &&
              m2 !== undefined &&
              e.startedAt < (m2.finishedAt ?? Infinity) &&
              m2.startedAt < (e.finishedAt ?? Infinity),
          ),
        ).toBe(true);
        // released once the last order was done
        expect(await redis.exists(machineLeaseKey(prefix, 'M1'))).toBe(0);
      } finally {
        clearInterval(sampler);
        await pod.close();
      }
    },
  );

  redisTest(
    'a job waiting in-process longer than its BullMQ lock keeps the lock: never stalled, run once',
    async ({ redisUrl, prefix }) => {
      const gateway = new SlowGateway(250);
      const lockDurationMs = 1000;
      const pod = startPod(redisUrl, prefix, gateway, { concurrency: 8, lockDurationMs });
      try {
        // the last order waits for 4 × 2 vends of 250 ms: twice the lock duration
        const orders = Array.from({ length: 5 }, (_, i) => notice(`L${i}`, 'M1', 2));
        await accept(pod, orders);
        await waitFor(() => allFinal(pod.store, orders), { what: 'every order final', timeoutMs: 20_000 });
        const last = gateway.ledger.at(-1);
        const first = gateway.ledger[0];
        expect((last?.startedAt ?? 0) - (first?.startedAt ?? 0)).toBeGreaterThan(lockDurationMs);
        expect(pod.stalled).toEqual([]);
        expect([...pod.runs.entries()].sort()).toEqual(
          orders.map((n) => [dispenseJobId(n.orderViewId), 1]).sort(),
        );
        expect(gateway.ledger).toHaveLength(10);
      } finally {
        await pod.close();
      }
    },
  );

  redisTest(
    'shutdown: the jobs waiting in-process step back at once (no attempt used, no unit touched); the vend in flight finishes and its lease is released',
    async ({ redis, redisUrl, prefix }) => {
      const gateway = new SlowGateway(800);
      const pod = startPod(redisUrl, prefix, gateway, { concurrency: 8 });
      const queue = pod.producer.queue('dispense');
      try {
        const orders = Array.from({ length: 4 }, (_, i) => notice(`S${i}`, 'M1', 1));
        await accept(pod, orders);
        await waitFor(() => gateway.ledger.length === 1, { what: 'the first vend in flight' });
        await waitFor(async () => (await queue.getActiveCount()) === 4, { what: 'all four jobs taken' });
        pod.stopping.abort();
        await pod.worker.close();

        expect(gateway.ledger.map((e) => e.vendId)).toEqual(['S0-0']);
        expect((await pod.store.get('S0'))?.state).toBe('final');
        expect(await redis.exists(machineLeaseKey(prefix, 'M1'))).toBe(0);
        for (const n of orders.slice(1)) {
          const job = await queue.getJob(dispenseJobId(n.orderViewId));
          expect(['delayed', 'waiting']).toContain(await job?.getState());
          expect(job?.attemptsMade).toBe(0);
          expect((await pod.store.get(n.orderViewId))?.unitStates.size).toBe(0);
        }
      } finally {
        await pod.close();
      }
    },
  );
});

async function counter(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = registry.getSingleMetric(name);
  const values = metric ? (await metric.get()).values : [];
  return values
    .filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))
    .reduce((sum, v) => sum + v.value, 0);
}

describe('DispenseHandler: the first callback delivery is the dispense job’s', () => {
  redisTest(
    'owitho accepts it: the order is reported, no callback job, the final and the callback in the timeline, counted once',
    async ({ redisUrl, prefix }) => {
      const owitho = new ScriptedOwitho([{ kind: 'ok' }]);
      const pod = startPod(redisUrl, prefix, new SlowGateway(0), { concurrency: 8, owitho });
      try {
        await accept(pod, [notice('A1', 'M1', 2)]);
        await waitFor(async () => (await pod.store.get('A1'))?.state === 'reported', { what: 'A1 reported' });
        await waitFor(() => pod.outcomes.has(dispenseJobId('A1')), { what: 'the dispense job done' });

        expect(pod.outcomes.get(dispenseJobId('A1'))).toEqual({
          outcome: 'final',
          outStatus: 200,
          finalizedNow: true,
          callback: 'delivered',
        });
        expect(await pod.producer.queue('callback').getJob(callbackJobId('A1'))).toBeUndefined();
        expect(owitho.calls.map((c) => c.result)).toEqual([(await pod.store.get('A1'))?.result]);
        const events = await pod.timeline.read('A1');
        expect(events.slice(-2)).toEqual([
          expect.objectContaining({ e: 'final', outStatus: 200 }),
          expect.objectContaining({ e: 'callback', attempt: 1, answer: 'ok: owitho answered 200' }),
        ]);
        // the same series the callback role counts
        expect(await counter(pod.registry, 'owc_callback_attempts_total', { outcome: 'ok' })).toBe(1);
        expect(await counter(pod.registry, 'owc_callback_attempts_total')).toBe(1);
        expect((await pod.store.get('A1'))?.callback.attempts).toBe(0);
      } finally {
        await pod.close();
      }
    },
  );

  redisTest(
    'owitho does not accept it: the callback job exists, delayed by the schedule, and carries on from delivery 2',
    async ({ redisUrl, prefix }) => {
      const owitho = new ScriptedOwitho([{ kind: 'retryable', reason: 'HTTP 503' }, { kind: 'ok' }]);
      const pod = startPod(redisUrl, prefix, new SlowGateway(0), {
        concurrency: 8,
        owitho,
        callbackRole: true,
      });
      try {
        await accept(pod, [notice('R1', 'M1', 1)]);
        await waitFor(() => pod.outcomes.has(dispenseJobId('R1')), { what: 'the dispense job done' });
        expect(pod.outcomes.get(dispenseJobId('R1'))).toMatchObject({ callback: 'enqueued' });
        // the failed delivery is counted in the store; the job waits the schedule's first delay
        expect((await pod.store.get('R1'))?.callback.attempts).toBe(1);
        const job = await pod.producer.queue('callback').getJob(callbackJobId('R1'));
        expect(job?.data).toEqual({ orderViewId: 'R1', deliveriesBefore: 1 });
        expect(job?.opts).toMatchObject({ delay: SCHEDULE[0], backoff: { type: CALLBACK_BACKOFF } });

        await waitFor(async () => (await pod.store.get('R1'))?.state === 'reported', { what: 'R1 reported' });
        const done = await pod.producer.queue('callback').getJob(callbackJobId('R1'));
        await waitFor(async () => (await done?.getState()) === 'completed', {
          what: 'the callback job done',
        });
        expect((await pod.producer.queue('callback').getJob(callbackJobId('R1')))?.returnvalue).toEqual({
          outcome: 'reported',
          attempt: 2,
        });
        expect(owitho.calls).toHaveLength(2);
        const [first, second] = owitho.calls;
        expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(SCHEDULE[0] ?? 0);
        expect(second?.result).toEqual(first?.result);
        const callbacks = (await pod.timeline.read('R1')).filter((e) => e.e === 'callback');
        expect(callbacks).toEqual([
          expect.objectContaining({ attempt: 1, answer: 'retryable: HTTP 503' }),
          expect.objectContaining({ attempt: 2, answer: 'ok: owitho answered 200' }),
        ]);
        expect(await counter(pod.registry, 'owc_callback_attempts_total', { outcome: 'retryable' })).toBe(1);
        expect(await counter(pod.registry, 'owc_callback_attempts_total', { outcome: 'ok' })).toBe(1);
      } finally {
        await pod.close();
      }
    },
  );

  redisTest(
    'owitho refuses it for good: the order is dead and counted as a dead letter, the dispense job completes',
    async ({ redisUrl, prefix }) => {
      const owitho = new ScriptedOwitho([{ kind: 'permanent', reason: '50002 order callback failed' }]);
      const pod = startPod(redisUrl, prefix, new SlowGateway(0), { concurrency: 8, owitho });
      try {
        await accept(pod, [notice('P1', 'M1', 1)]);
        await waitFor(() => pod.outcomes.has(dispenseJobId('P1')), { what: 'the dispense job done' });
        expect(pod.outcomes.get(dispenseJobId('P1'))).toMatchObject({ callback: 'dead' });
        const record = await pod.store.get('P1');
        expect(record?.state).toBe('dead');
        expect(record?.callback.lastError).toMatch(/permanent: 50002/);
        expect(await pod.store.deadOrders()).toEqual(['P1']);
        expect(await counter(pod.registry, 'owc_callbacks_dead_total', { why: 'permanent' })).toBe(1);
        expect(await pod.producer.queue('callback').getJob(callbackJobId('P1'))).toBeUndefined();
        const job = await pod.producer.queue('dispense').getJob(dispenseJobId('P1'));
        await waitFor(async () => (await job?.getState()) === 'completed', {
          what: 'the dispense job completed',
        });
        expect(owitho.calls).toHaveLength(1);
      } finally {
        await pod.close();
      }
    },
  );

  redisTest(
    'owitho holds it: orders past the most in flight go to their callback job; the sweep leaves the held one to its dispense job; a SIGTERM hands it to the callback job at once',
    async ({ redisUrl, prefix }) => {
      const owitho = new ScriptedOwitho([{ kind: 'ok' }]);
      const release = owitho.hold();
      const pod = startPod(redisUrl, prefix, new SlowGateway(0), { concurrency: 8, owitho, maxInFlight: 1 });
      try {
        await accept(pod, [notice('H1', 'M1', 1)]);
        await pod.store.indexAccepted('H1', Date.now() - 1000);
        await waitFor(() => owitho.calls.length === 1, { what: 'the delivery held by owitho' });
        expect((await pod.store.get('H1'))?.state).toBe('final');

        // one delivery in flight is this pod's most: the next final order's job does not wait behind it
        await accept(pod, [notice('H2', 'M2', 1)]);
        await waitFor(() => pod.outcomes.has(dispenseJobId('H2')), { what: "H2's dispense job done" });
        expect(pod.outcomes.get(dispenseJobId('H2'))).toMatchObject({ callback: 'enqueued' });
        expect((await pod.producer.queue('callback').getJob(callbackJobId('H2')))?.data).toEqual({
          orderViewId: 'H2',
        });
        expect(owitho.calls).toHaveLength(1);

        // final, unreported and past the threshold, but its dispense job is still delivering
        const stuck = new StuckOrders({
          store: pod.store,
          producer: pod.producer,
          stuckAfterMs: 0,
          logger: silentLogger('stuck-test'),
          metrics: stuckOrderMetrics(pod.registry),
        });
        const listed = await stuck.list(0);
        expect(listed.filter((o) => o.orderViewId === 'H1').map((o) => [o.kind, o.job])).toEqual([
          ['unreported', { queue: 'dispense', id: dispenseJobId('H1'), state: 'active' }],
        ]);
        expect((await stuck.sweep()).actions).toEqual([]);
        expect(await pod.producer.queue('callback').getJob(callbackJobId('H1'))).toBeUndefined();

        // the shutdown does not wait for owitho: the callback job takes the delivery over
        pod.stopping.abort();
        await pod.worker.close();
        expect(pod.outcomes.get(dispenseJobId('H1'))).toMatchObject({ callback: 'enqueued' });
        const job = await pod.producer.queue('callback').getJob(callbackJobId('H1'));
        expect(job?.data).toEqual({ orderViewId: 'H1' });
        expect(await job?.getState()).toBe('waiting');
        // the held delivery, answered at last, still reports the order
        release();
        await waitFor(async () => (await pod.store.get('H1'))?.state === 'reported', { what: 'H1 reported' });
      } finally {
        release();
        await pod.close();
      }
    },
  );
});
