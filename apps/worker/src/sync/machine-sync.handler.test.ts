import { Registry } from '@owc/observability';
import type { CallOutcome } from '@owc/owitho-client';
import type { MachineLayout } from '@owc/protocol';
import { createConsumer, createProducer } from '@owc/queues';
import { redisTest, silentLogger, waitFor } from '@owc/testing';
import { describe, expect } from 'vitest';
import { MachineSyncHandler } from './machine-sync.handler.js';
import { MachineSyncState } from './machine-sync-state.js';
import { syncMetrics } from './sync-metrics.js';

const logger = silentLogger('machine-sync-test');

function layout(machineCode: string, inventory: number, containerCode = '01'): MachineLayout {
  return {
    machineCode,
    containerCode,
    machineStatus: 10,
    slotList: [
      {
        slotNum: '1',
        row: 1,
        col: 1,
        skuCode: 'SKU1',
        skuName: 'Cola',
        originalPrice: '3.00',
        actualPrice: '3.00',
        maxInventory: 10,
        currentInventory: inventory,
        slotStatus: 0,
      },
    ],
  };
}

describe('MachineSyncHandler (real BullMQ and Redis, fake gateway and owitho)', () => {
  redisTest(
    'two pods, a burst on two machines: one send per machine with its last state, never two at once on a machine',
    async ({ redis, prefix }) => {
      const live = new Map<string, MachineLayout>([
        ['M1', layout('M1', 0)],
        ['M2', layout('M2', 0)],
      ]);
      const sent: MachineLayout[] = [];
      const inFlight = new Map<string, number>();
      let overlap = false;
      const send = async (l: MachineLayout): Promise<CallOutcome> => {
        const n = (inFlight.get(l.machineCode) ?? 0) + 1;
        inFlight.set(l.machineCode, n);
        if (n > 1) overlap = true;
        await new Promise((r) => setTimeout(r, 30));
        inFlight.set(l.machineCode, n - 1);
        sent.push(l);
        return { kind: 'ok', code: 200 };
      };
      const pods = [0, 1].map(() => {
        const handler = new MachineSyncHandler({
          state: new MachineSyncState(redis, prefix),
          gateway: {
            getMachine: async (code) => live.get(code),
            getContainers: async (code) => {
              const one = live.get(code);
              return one ? [one] : undefined;
            },
          },
          send,
          // generous: the events are all queued before the pods start (below), so the burst is as
          // tight as the pods can consume it; quiet must outlast that even on a loaded machine
          quietMs: 1000,
          maxHoldMs: 10_000,
          lockedRetryMs: 20,
          lockTtlMs: 10_000,
          logger,
          metrics: syncMetrics(new Registry()),
        });
        return createConsumer(
          'machine-sync',
          { 'machine.restocked': handler.restocked, 'machine.layout': handler.layout },
          {
            connection: redis.duplicate({ maxRetriesPerRequest: null }),
            keyPrefix: prefix,
            concurrency: 8,
            autorun: false,
          },
        );
      });
      const producer = createProducer(redis, { keyPrefix: prefix });
      try {
        const ids: string[] = [];
        for (let k = 1; k <= 20; k++) {
          for (const code of ['M1', 'M2']) {
            live.set(code, layout(code, k % 11));
            ids.push((await producer.enqueue('machine.restocked', { machineCode: code })).id);
          }
        }
        for (const pod of pods) void pod.run();
        const queue = producer.queue('machine-sync');
        await waitFor(
          async () =>
            (await Promise.all(ids.map((id) => queue.getJobState(id)))).every((s) => s === 'completed'),
          {
            what: 'every event covered',
          },
        );
        expect(overlap).toBe(false);
        expect(sent.filter((l) => l.machineCode === 'M1')).toEqual([live.get('M1')]);
        expect(sent.filter((l) => l.machineCode === 'M2')).toEqual([live.get('M2')]);
      } finally {
        await Promise.all(pods.map((p) => p.close()));
        await producer.close();
      }
    },
  );

  redisTest(
    'a refused send is retried by BullMQ; a later event is covered by the retry',
    async ({ redis, prefix }) => {
      let answers: CallOutcome[] = [{ kind: 'retryable', reason: 'HTTP 503', status: 503 }];
      const sent: MachineLayout[] = [];
      const handler = new MachineSyncHandler({
        state: new MachineSyncState(redis, prefix),
        gateway: { getMachine: async () => undefined, getContainers: async () => undefined },
        send: async (l) => {
          sent.push(l);
          const [next, ...rest] = answers;
          answers = rest;
          return next ?? { kind: 'ok', code: 200 };
        },
        quietMs: 0,
        maxHoldMs: 2000,
        lockedRetryMs: 20,
        lockTtlMs: 10_000,
        logger,
        metrics: syncMetrics(new Registry()),
      });
      const worker = createConsumer(
        'machine-sync',
        { 'machine.layout': handler.layout },
        {
          connection: redis.duplicate({ maxRetriesPerRequest: null }),
          keyPrefix: prefix,
          settings: { backoffStrategy: () => 100 },
        },
      );
      const producer = createProducer(redis, { keyPrefix: prefix });
      try {
        const queue = producer.queue('machine-sync');
        const first = await queue.add('machine.layout', layout('M9', 1), {
          attempts: 3,
          backoff: { type: 'custom' },
        });
        await waitFor(() => sent.length >= 1);
        const second = await producer.enqueue('machine.layout', layout('M9', 7));
        await waitFor(
          async () =>
            (await queue.getJobState(first.id ?? '')) === 'completed' &&
            (await queue.getJobState(second.id)) === 'completed',
          {
            what: 'both jobs done',
          },
        );
        expect(sent.at(-1)).toEqual(layout('M9', 7));
        expect(sent.filter((l) => l.slotList[0]?.currentInventory === 7).length).toBe(1);
      } finally {
        await worker.close();
        await producer.close();
      }
    },
  );

  redisTest(
    'containers of one machine coalesce apart: machine.layout for A1 and B2 → one machine/sync each',
    async ({ redis, prefix }) => {
      const sent: MachineLayout[] = [];
      const containers = [layout('M7', 4, 'A1'), layout('M7', 6, 'B2')];
      const handler = new MachineSyncHandler({
        state: new MachineSyncState(redis, prefix),
        gateway: {
          getMachine: async (_code, container) => containers.find((c) => c.containerCode === container),
          getContainers: async () => containers,
        },
        send: async (l) => {
          sent.push(l);
          return { kind: 'ok', code: 200 };
        },
        quietMs: 50,
        maxHoldMs: 2000,
        lockedRetryMs: 20,
        lockTtlMs: 10_000,
        metrics: syncMetrics(new Registry()),
        logger,
      });
      const worker = createConsumer(
        'machine-sync',
        { 'machine.layout': handler.layout, 'machine.restocked': handler.restocked },
        { connection: redis.duplicate({ maxRetriesPerRequest: null }), keyPrefix: prefix, concurrency: 4 },
      );
      const producer = createProducer(redis, { keyPrefix: prefix });
      try {
        const queue = producer.queue('machine-sync');
        const ids = [
          (await producer.enqueue('machine.layout', layout('M7', 1, 'A1'))).id,
          (await producer.enqueue('machine.layout', layout('M7', 2, 'B2'))).id,
        ];
        const allDone = async () =>
          (await Promise.all(ids.map((id) => queue.getJobState(id)))).every((s) => s === 'completed');
        await waitFor(allDone, { what: 'both layout jobs done' });
        expect(sent.map((l) => `${l.containerCode}:${l.slotList[0]?.currentInventory}`).sort()).toEqual([
          'A1:1',
          'B2:2',
        ]);
        // a restock naming no container syncs every container; naming one, only that one
        sent.length = 0;
        ids.push((await producer.enqueue('machine.restocked', { machineCode: 'M7' })).id);
        await waitFor(allDone, { what: 'the whole-machine restock done' });
        expect(sent.map((l) => l.containerCode)).toEqual(['A1', 'B2']);
        sent.length = 0;
        ids.push(
          (await producer.enqueue('machine.restocked', { machineCode: 'M7', containerCode: 'B2' })).id,
        );
        await waitFor(allDone, { what: 'the B2 restock done' });
        expect(sent).toEqual([containers[1]]);
      } finally {
        await worker.close();
        await producer.close();
      }
    },
  );
});
