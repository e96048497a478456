import { Registry } from '@owc/observability';
import { OrderStore } from '@owc/order-store';
import type { OrderResult } from '@owc/protocol';
import {
  ApiKeyStore,
  CALLBACK_BACKOFF,
  callbackJobId,
  createConsumer,
  createProducer,
  type Producer,
} from '@owc/queues';
import { redisTest, sampleNotice, silentLogger, waitFor } from '@owc/testing';
import type { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect } from 'vitest';
import { type CliDeps, runCliCommand } from '../cli/cli-commands.js';
import { CallbackHandler } from './callback.handler.js';
import { CallbackDelivery, type CallbackOutcome } from './callback-delivery.js';
import { callbackBackoffStrategy, enqueueCallback } from './callback-jobs.js';
import { callbackMetrics } from './callback-metrics.js';
import { ScriptedOwitho } from './scripted-owitho.test-kit.js';

const SCHEDULE = [200, 400, 800];
/** two units of COLA at 2.00 on slot 01 */
const COLA_2 = { skuCode: 'COLA', slotNum: '01', quantity: 2, originalPrice: '2.00', actualPrice: '2.00' };
const logger = silentLogger('callback-test');

interface Rig {
  store: OrderStore;
  producer: Producer;
  owitho: ScriptedOwitho;
  registry: Registry;
  close(): Promise<void>;
}

async function startRig(redisUrl: string, prefix: string, script: CallbackOutcome[]): Promise<Rig> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const workerConnection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const store = new OrderStore({ redis, keyPrefix: prefix, ttlMs: 3600_000 });
  const producer = createProducer(redis, { keyPrefix: prefix });
  const owitho = new ScriptedOwitho(script);
  const registry = new Registry();
  const handler = new CallbackHandler({
    store,
    delivery: new CallbackDelivery({
      store,
      owitho,
      scheduleMs: SCHEDULE,
      jitter: 0,
      metrics: callbackMetrics(registry, store),
    }),
    logger,
  });
  const worker: Worker = createConsumer(
    'callback',
    { 'order.callback': handler.handle },
    {
      connection: workerConnection,
      keyPrefix: prefix,
      concurrency: 4,
      settings: { backoffStrategy: callbackBackoffStrategy(SCHEDULE, 0) },
    },
  );
  return {
    store,
    producer,
    owitho,
    registry,
    async close() {
      await worker.close();
      await producer.close();
      redis.disconnect();
      workerConnection.disconnect();
    },
  };
}

/** An order with a final result (one unit ok, one failed): 300. */
async function finalOrder(store: OrderStore, id: string): Promise<OrderResult> {
  await store.accept(sampleNotice(id, { orderDetailList: [COLA_2] }));
  await store.indexAccepted(id);
  await store.recordUnitResult(id, 0, { status: 'success' });
  await store.recordUnitResult(id, 1, { status: 'failed', reason: 'jammed' });
  const final = await store.finalize(id);
  if (!final) throw new Error('not final');
  return final.result;
}

const gaps = (calls: { at: number }[]) => calls.slice(1).map((c, i) => c.at - (calls[i]?.at ?? 0));

async function counter(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = registry.getSingleMetric(name);
  const values = metric ? (await metric.get()).values : [];
  return values
    .filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))
    .reduce((s, v) => s + v.value, 0);
}

describe('callback handler', () => {
  redisTest(
    'retries on the schedule until owitho answers 200, with the same payload every time',
    async ({ redisUrl, prefix }) => {
      const rig = await startRig(redisUrl, prefix, [
        { kind: 'retryable', reason: 'HTTP 503' },
        { kind: 'token-rejected', reason: '40002 after refresh' },
        { kind: 'ok' },
      ]);
      try {
        const result = await finalOrder(rig.store, 'C1');
        await enqueueCallback(rig.producer, 'C1');
        await waitFor(async () => (await rig.store.get('C1'))?.state === 'reported');
        expect(rig.owitho.calls).toHaveLength(3);
        for (const call of rig.owitho.calls) expect(call.result).toEqual(result);
        // delivery k+1 waits the schedule's entry k (jitter 0); timers never fire early
        const [first, second] = gaps(rig.owitho.calls);
        expect(first).toBeGreaterThanOrEqual(SCHEDULE[0] ?? 0);
        expect(second).toBeGreaterThanOrEqual(SCHEDULE[1] ?? 0);
        const record = await rig.store.get('C1');
        expect(record?.callback.attempts).toBe(2);
        expect(record?.callback.lastError).toMatch(/token-rejected/);
        expect(await rig.store.openSince(Date.now())).toEqual([]);
        const job = await rig.producer.queue('callback').getJob(callbackJobId('C1'));
        expect(await job?.getState()).toBe('completed');
        expect(await counter(rig.registry, 'owc_callback_attempts_total', { outcome: 'ok' })).toBe(1);
      } finally {
        await rig.close();
      }
    },
  );

  redisTest(
    'schedule exhausted: dead-lettered (job failed, order dead, counted), then replayed by the CLI',
    async ({ redisUrl, prefix, redis }) => {
      const rig = await startRig(redisUrl, prefix, [{ kind: 'retryable', reason: 'HTTP 503' }]);
      try {
        await finalOrder(rig.store, 'D1');
        await enqueueCallback(rig.producer, 'D1');
        await waitFor(async () => (await rig.store.get('D1'))?.state === 'dead');
        const job = await rig.producer.queue('callback').getJob(callbackJobId('D1'));
        await waitFor(async () => (await job?.getState()) === 'failed');
        // one first delivery + one per schedule entry, no more
        expect(rig.owitho.calls).toHaveLength(SCHEDULE.length + 1);
        expect(gaps(rig.owitho.calls).every((g, i) => g >= (SCHEDULE[i] ?? 0))).toBe(true);
        expect(await rig.store.deadOrders()).toEqual(['D1']);
        expect(await counter(rig.registry, 'owc_callbacks_dead_total', {})).toBe(1);
        expect(await counter(rig.registry, 'owc_callbacks_dead', {})).toBe(1);

        rig.owitho.script = [{ kind: 'ok' }];
        const lines: string[] = [];
        const cliDeps: CliDeps = {
          store: rig.store,
          producer: rig.producer,
          keys: new ApiKeyStore(redis, prefix),
          stuckAfterMs: 60_000,
          logger,
          out: (l) => lines.push(l),
        };
        const code = await runCliCommand(cliDeps, ['callback:replay', 'D1']);

        expect(code).toBe(0);
        expect(lines.join('\n')).toMatch(/revived from dead; callback job cb-D1-replay-\d+ enqueued/);
        await waitFor(async () => (await rig.store.get('D1'))?.state === 'reported');
        expect(rig.owitho.calls).toHaveLength(SCHEDULE.length + 2);
        expect(await rig.store.deadOrders()).toEqual([]);
        // the dead letter stays in the failed set, for the record
        expect(await job?.getState()).toBe('failed');

        // an order already reported: the replay is delivered again, not skipped
        rig.owitho.script = [{ kind: 'ok' }];
        lines.length = 0;
        expect(await runCliCommand(cliDeps, ['callback:replay', 'D1'])).toBe(0);
        expect(lines.join('\n')).toMatch(
          /already reported, sent again; callback job cb-D1-replay-\d+ enqueued/,
        );
        await waitFor(() => rig.owitho.calls.length === SCHEDULE.length + 3);
        expect((await rig.store.get('D1'))?.state).toBe('reported');
      } finally {
        await rig.close();
      }
    },
  );

  redisTest('a permanent refusal dead-letters at once', async ({ redisUrl, prefix }) => {
    const rig = await startRig(redisUrl, prefix, [
      { kind: 'permanent', reason: '50002 order callback failed' },
    ]);
    try {
      await finalOrder(rig.store, 'P1');
      await enqueueCallback(rig.producer, 'P1');
      await waitFor(async () => (await rig.store.get('P1'))?.state === 'dead');
      const job = await rig.producer.queue('callback').getJob(callbackJobId('P1'));
      await waitFor(async () => (await job?.getState()) === 'failed');
      expect(rig.owitho.calls).toHaveLength(1);
      expect((await rig.store.get('P1'))?.callback.lastError).toMatch(/permanent: 50002/);
      expect(await counter(rig.registry, 'owc_callbacks_dead_total', { why: 'permanent' })).toBe(1);
    } finally {
      await rig.close();
    }
  });

  redisTest(
    'owitho refusing the request itself (HTTP 413) is counted and logged as a callback problem, apart from other dead letters',
    async ({ redisUrl, prefix }) => {
      const rig = await startRig(redisUrl, prefix, [{ kind: 'permanent', reason: 'HTTP 413', status: 413 }]);
      try {
        await finalOrder(rig.store, 'R1');
        await enqueueCallback(rig.producer, 'R1');
        await waitFor(async () => (await rig.store.get('R1'))?.state === 'dead');
        const job = await rig.producer.queue('callback').getJob(callbackJobId('R1'));
        await waitFor(async () => (await job?.getState()) === 'failed');
        const failed = await rig.producer.queue('callback').getJob(callbackJobId('R1'));
        expect(failed?.failedReason).toMatch(/too large for owitho \(HTTP 413; \d+ bytes, 2 units\)/);
        expect(rig.owitho.calls).toHaveLength(1);
        expect(await counter(rig.registry, 'owc_callback_refused_total', { status: '413' })).toBe(1);
        expect(await counter(rig.registry, 'owc_callbacks_dead_total', { why: 'callback_refused' })).toBe(1);
        expect(await counter(rig.registry, 'owc_callbacks_dead_total', { why: 'permanent' })).toBe(0);
      } finally {
        await rig.close();
      }
    },
  );

  redisTest(
    "a callback job added with the catalog's options carries the named backoff and follows the schedule",
    async ({ redisUrl, prefix }) => {
      const rig = await startRig(redisUrl, prefix, [
        { kind: 'retryable', reason: 'HTTP 503' },
        { kind: 'retryable', reason: 'HTTP 503' },
        { kind: 'ok' },
      ]);
      try {
        await finalOrder(rig.store, 'F1');
        const { id } = await rig.producer.enqueue('order.callback', { orderViewId: 'F1' });
        const job = await rig.producer.queue('callback').getJob(id);
        expect(job?.opts.backoff).toEqual({ type: CALLBACK_BACKOFF });
        await waitFor(async () => (await rig.store.get('F1'))?.state === 'reported');
        expect(rig.owitho.calls).toHaveLength(3);
        const [first, second] = gaps(rig.owitho.calls);
        expect(first).toBeGreaterThanOrEqual(SCHEDULE[0] ?? 0);
        expect(second).toBeGreaterThanOrEqual(SCHEDULE[1] ?? 0);
        // BullMQ counted the two failed deliveries: its backoff, not our step back, ran them (read
        // once the job has completed: the order is reported a moment before)
        await waitFor(
          async () => (await rig.producer.queue('callback').getJob(id))?.finishedOn !== undefined,
        );
        expect((await rig.producer.queue('callback').getJob(id))?.attemptsMade).toBe(3);
      } finally {
        await rig.close();
      }
    },
  );

  redisTest(
    "a callback job added without the catalog's options (no backoff) still follows the schedule, then is dead-lettered",
    async ({ redisUrl, prefix }) => {
      const rig = await startRig(redisUrl, prefix, [{ kind: 'retryable', reason: 'HTTP 503' }]);
      try {
        await finalOrder(rig.store, 'N1');
        // another process adding the job by hand: one attempt, no backoff
        await rig.producer
          .queue('callback')
          .add('order.callback', { orderViewId: 'N1' }, { jobId: 'raw-N1' });
        await waitFor(async () => (await rig.store.get('N1'))?.state === 'dead');
        expect(rig.owitho.calls).toHaveLength(SCHEDULE.length + 1);
        expect(gaps(rig.owitho.calls).every((g, i) => g >= (SCHEDULE[i] ?? 0))).toBe(true);
        const job = await rig.producer.queue('callback').getJob('raw-N1');
        await waitFor(async () => (await job?.getState()) === 'failed');
      } finally {
        await rig.close();
      }
    },
  );

  redisTest('an order already reported is not sent again', async ({ redisUrl, prefix }) => {
    const rig = await startRig(redisUrl, prefix, [{ kind: 'ok' }]);
    try {
      await finalOrder(rig.store, 'A1');
      await rig.store.markReported('A1');
      await enqueueCallback(rig.producer, 'A1');
      const job = await rig.producer.queue('callback').getJob(callbackJobId('A1'));
      await waitFor(async () => (await job?.getState()) === 'completed');
      expect(rig.owitho.calls).toHaveLength(0);
    } finally {
      await rig.close();
    }
  });
});
