import { setTimeout as sleep } from 'node:timers/promises';
import type { MachineGateway, VendAnswer, VendRequest } from '@owc/gateway';
import { Registry } from '@owc/observability';
import { OrderStore } from '@owc/order-store';
import type { OrderNotice } from '@owc/protocol';
import { createConsumer, createProducer, dispenseJobId, type Producer } from '@owc/queues';
import { redisTest, sampleNotice, silentLogger, waitFor } from '@owc/testing';
import type { Job, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect } from 'vitest';
import { DispenseHandler, type DispenseSettings } from './dispense.handler.js';
import { dispenseMetrics } from './dispense-metrics.js';
import { machineLeaseKey } from './machine-lease.js';

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

interface Pod {
  worker: Worker;
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
  options: { concurrency: number; lockDurationMs?: number },
): Pod {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const store = new OrderStore({ redis, keyPrefix: prefix, ttlMs: 3600_000 });
  const producer = createProducer(redis, { keyPrefix: prefix });
  const registry = new Registry();
  const stopping = new AbortController();
  const handler = new DispenseHandler({
    redis,
    store,
    gateway,
    producer,
    settings: settings(prefix),
    metrics: dispenseMetrics(registry, { machineLabelsMax: 10 }),
    logger: silentLogger('dispense-handler-test'),
    stopping: stopping.signal,
  });
  const runs = new Map<string, number>();
  const worker = createConsumer(
    'dispense',
    {
      'order.dispense': (payload, job: Job, token?: string) => {
        runs.set(String(job.id), (runs.get(String(job.id)) ?? 0) + 1);
        return handler.handle(payload, job, token);
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
  return {
    worker,
    stopping,
    runs,
    stalled,
    store,
    producer,
    registry,
    async close() {
      stopping.abort();
      await worker.close();
      await producer.close();
      connection.disconnect();
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
