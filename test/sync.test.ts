import { setTimeout as sleep } from 'node:timers/promises';
import { machineLayoutSchema } from '@owc/protocol';
import { createProducer, type Producer } from '@owc/queues';
import { redisTest, skuOf, waitFor } from '@owc/testing';
import { describe, expect } from 'vitest';
import { requestsTo, startSyncSystem } from './sync-support.js';

const SKUS = 2000;
const JOBS = 10_000;
const BATCH = 100;
/**
 * Stated slack over ceil(2000/100) = 20 sku/sync requests: the owitho client's own repairs (a
 * re-stamped utc after 40004, one resend after a token refresh on 40002) are requests too.
 */
const SLACK = 2;

/** 4 producers enqueue `JOBS` sku.upsert jobs (random SKUs, random order), `inFlight` at a time each. */
async function enqueueUpserts(
  producers: Producer[],
  inFlight = 25,
): Promise<Map<string, { id: number; rev: number }>> {
  const last = new Map<string, { id: number; rev: number }>();
  let rev = 0;
  await Promise.all(
    producers.map(async (producer) => {
      const mine = JOBS / producers.length;
      let next = 0;
      await Promise.all(
        Array.from({ length: inFlight }, async () => {
          while (next < mine) {
            next++;
            const i = Math.floor(Math.random() * SKUS);
            const r = ++rev;
            const sku = skuOf(i, r);
            const { id } = await producer.enqueue(
              'sku.upsert',
              Math.random() < 0.5 ? { sku } : { skus: [sku] },
            );
            const prev = last.get(sku.skuCode);
            if (!prev || Number(id) > prev.id) last.set(sku.skuCode, { id: Number(id), rev: r });
          }
        }),
      );
    }),
  );
  // every SKU written at least once, whatever the random draw
  for (let i = 0; i < SKUS; i++) {
    const sku = skuOf(i, ++rev);
    if (!last.has(sku.skuCode)) {
      const { id } = await (producers[0] as Producer).enqueue('sku.upsert', { sku });
      last.set(sku.skuCode, { id: Number(id), rev });
    }
  }
  return last;
}

describe('the sync worker (owitho-sim over HTTP, real Redis)', () => {
  redisTest(
    `${JOBS} sku.upsert jobs over ${SKUS} SKUs from 4 producers: owitho's catalogue is the last write of each, in ≤ ceil(${SKUS}/${BATCH}) + ${SLACK} sku/sync requests`,
    async ({ redis, redisUrl, prefix }) => {
      const system = await startSyncSystem(redisUrl, prefix);
      const connections = Array.from({ length: 4 }, () => redis.duplicate());
      const producers = connections.map((c) => createProducer(c, { keyPrefix: prefix }));
      try {
        const last = await enqueueUpserts(producers);
        expect(last.size).toBe(SKUS);
        // The burst is queued before the worker starts, and the max wait is longer than the drain:
        // every write of a SKU then reaches the buffer before its first send, so each SKU goes
        // out once (full batches are held while the queue still has jobs). With the default 1 s
        // and a drain of ~3 s, a SKU goes out about once per max-wait window (docs/sync.md).
        await system.startWorker({ SKU_BATCH_SIZE: String(BATCH), SKU_BATCH_MAX_WAIT_MS: '60000' });
        const { owitho } = system;
        await waitFor(
          () => {
            const cat = owitho.sim.catalogue();
            return (
              cat.length === SKUS && cat.every((s) => s.skuName.endsWith(` rev ${last.get(s.skuCode)?.rev}`))
            );
          },
          { timeoutMs: 60_000, what: 'the catalogue to hold the last write of every SKU' },
        );
        const catalogue = new Map(owitho.sim.catalogue().map((s) => [s.skuCode, s]));
        for (const [code, { rev }] of last) {
          const i = Number(code.slice(3));
          expect(catalogue.get(code)).toEqual(skuOf(i, rev));
        }
        const requests = requestsTo(owitho, '/sku/sync');
        expect(requests).toBeGreaterThanOrEqual(Math.ceil(SKUS / BATCH));
        expect(requests).toBeLessThanOrEqual(Math.ceil(SKUS / BATCH) + SLACK);
      } finally {
        await Promise.all(producers.map((p) => p.close()));
        for (const c of connections) c.disconnect();
        await system.close();
      }
    },
    120_000,
  );

  redisTest(
    "50 restock events for one machine in 1 s: at most 2 machine/sync calls, the last one the gateway's final state",
    async ({ redis, redisUrl, prefix }) => {
      const system = await startSyncSystem(redisUrl, prefix);
      const producer = createProducer(redis, { keyPrefix: prefix });
      try {
        const { owitho, machines } = system;
        await system.startWorker();
        const [code, other] = machines.sim.machineCodes();
        if (!code || !other) throw new Error('the fleet has machines');
        const slots = machines.sim.getMachine(code)?.slotList ?? [];
        const ids: string[] = [];
        const started = Date.now();
        for (let k = 0; k < 50; k++) {
          // a restock on the machine (over the simulator's control API), then the event
          const slot = slots[k % slots.length];
          if (!slot) throw new Error('the machine has slots');
          const res = await fetch(`${machines.url}/_sim/machines/${code}/restock`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              slots: [{ slotNum: slot.slotNum, currentInventory: k % (slot.maxInventory + 1) }],
            }),
          });
          expect(res.status).toBe(200);
          ids.push((await producer.enqueue('machine.restocked', { machineCode: code })).id);
          await sleep(Math.max(0, started + (k + 1) * 20 - Date.now()));
        }
        const queue = producer.queue('machine-sync');
        await waitFor(
          async () =>
            (await Promise.all(ids.map((id) => queue.getJobState(id)))).every((s) => s === 'completed'),
          { timeoutMs: 30_000, what: 'every restock job to complete' },
        );
        const calls = requestsTo(owitho, '/machine/sync');
        expect(calls).toBeGreaterThanOrEqual(1);
        expect(calls).toBeLessThanOrEqual(2);
        expect(owitho.sim.machine(code)).toEqual(machines.sim.getMachine(code));
        expect(owitho.sim.machine(other)).toBeUndefined();
        // the layout sent is also the machine's snapshot (the ingress's machine/query fallback)
        const snapshot = await redis.hget(`${prefix}:{machine:${code}}:snapshot`, 'layout:01');
        expect(machineLayoutSchema.parse(JSON.parse(snapshot ?? 'null'))).toEqual(
          machines.sim.getMachine(code),
        );
      } finally {
        await producer.close();
        await system.close();
      }
    },
    60_000,
  );

  redisTest(
    'machine.layout: the latest enqueued layout wins; an unknown machine fails its job with a clear error',
    async ({ redis, redisUrl, prefix }) => {
      const system = await startSyncSystem(redisUrl, prefix);
      const producer = createProducer(redis, { keyPrefix: prefix });
      try {
        const { owitho, machines } = system;
        const [code] = machines.sim.machineCodes();
        const base = code ? machines.sim.getMachine(code) : undefined;
        if (!code || !base) throw new Error('the fleet has machines');
        const versions = Array.from({ length: 10 }, (_, k) => ({
          ...base,
          slotList: base.slotList.map((s, j) => (j === 0 ? { ...s, currentInventory: k } : s)),
        }));
        const ids: string[] = [];
        for (const layout of versions) ids.push((await producer.enqueue('machine.layout', layout)).id);
        const unknown = await producer.enqueue('machine.restocked', { machineCode: 'NO-SUCH-MACHINE' });
        await system.startWorker();
        const queue = producer.queue('machine-sync');
        await waitFor(
          async () =>
            (await Promise.all(ids.map((id) => queue.getJobState(id)))).every((s) => s === 'completed'),
          { timeoutMs: 30_000, what: 'every layout job to complete' },
        );
        expect(owitho.sim.machine(code)).toEqual(versions[9]);
        expect(requestsTo(owitho, '/machine/sync')).toBeLessThanOrEqual(2);
        const failed = await waitFor(async () => {
          const job = await queue.getJob(unknown.id);
          return (await job?.getState()) === 'failed' ? job : undefined;
        });
        expect(failed.failedReason).toMatch(/machine NO-SUCH-MACHINE is unknown to the gateway/);
        expect(failed.attemptsMade).toBe(1);
      } finally {
        await producer.close();
        await system.close();
      }
    },
    60_000,
  );

  redisTest(
    'invalid jobs (missing field, wrong type, money 10.555 or "1e3") fail at once naming the field; the next valid job goes through',
    async ({ redis, redisUrl, prefix }) => {
      const system = await startSyncSystem(redisUrl, prefix);
      const producer = createProducer(redis, { keyPrefix: prefix });
      try {
        const { owitho } = system;
        await system.startWorker({ SKU_BATCH_MAX_WAIT_MS: '50' });
        // other systems may not use our producer: add straight to the queues, unchecked
        const skuQueue = producer.queue('sku-sync');
        const machineQueue = producer.queue('machine-sync');
        const { skuName: _missing, ...noName } = skuOf(1, 1);
        const base = system.machines.sim.getMachine(system.machines.sim.machineCodes()[0] ?? '');
        if (!base) throw new Error('the fleet has machines');
        const badRow = {
          ...base,
          slotList: base.slotList.map((x, j) => (j === 0 ? { ...x, row: 'one' } : x)),
        };
        // sku.upsert is a union ({sku} | {skus}): the message names the field of the shape the job took
        const bad: { queue: typeof skuQueue; name: string; data: unknown; field?: RegExp }[] = [
          { queue: skuQueue, name: 'sku.upsert', data: { sku: noName }, field: /sku\.skuName/ },
          {
            queue: skuQueue,
            name: 'sku.upsert',
            data: { sku: { ...skuOf(2, 1), originalPrice: 10.555 } },
            field: /sku\.originalPrice/,
          },
          {
            queue: skuQueue,
            name: 'sku.upsert',
            data: { skus: [{ ...skuOf(3, 1), originalPrice: '1e3' }] },
            field: /skus\.0\.originalPrice: exponent form/,
          },
          {
            queue: machineQueue,
            name: 'machine.restocked',
            data: { containerCode: '01' },
            field: /machineCode/,
          },
          { queue: machineQueue, name: 'machine.restocked', data: { machineCode: 42 }, field: /machineCode/ },
          { queue: machineQueue, name: 'machine.layout', data: badRow, field: /slotList\.0\.row/ },
          {
            queue: machineQueue,
            name: 'machine.teleported',
            data: { machineCode: 'M1' },
            field: /no handler/,
          },
        ];
        const jobs = [];
        for (const b of bad) jobs.push({ ...b, job: await b.queue.add(b.name, b.data) });
        const good = skuOf(4, 1);
        await skuQueue.add('sku.upsert', { sku: good });
        await waitFor(() => owitho.sim.catalogue().some((s) => s.skuCode === good.skuCode), {
          what: 'the valid SKU to reach owitho',
        });
        expect(owitho.sim.catalogue()).toEqual([good]);
        // and the machine queue moved on too
        const [code] = system.machines.sim.machineCodes();
        await machineQueue.add('machine.restocked', { machineCode: code });
        await waitFor(() => owitho.sim.machine(code ?? ''), { what: 'the valid restock to be synced' });
        for (const { queue, job, field } of jobs) {
          const id = job.id ?? '';
          const failed = await waitFor(async () => {
            const j = await queue.getJob(id);
            return (await j?.getState()) === 'failed' ? j : undefined;
          });
          expect(failed.failedReason).toMatch(/^invalid |no handler/);
          if (field) expect(failed.failedReason).toMatch(field);
          expect(failed.attemptsMade).toBe(1);
        }
      } finally {
        await producer.close();
        await system.close();
      }
    },
    60_000,
  );
});
