import { Registry } from '@owc/observability';
import type { CallOutcome } from '@owc/owitho-client';
import type { Sku } from '@owc/protocol';
import { redisTest, silentLogger, skuOf, waitFor } from '@owc/testing';
import { describe, expect } from 'vitest';
import { SkuBuffer } from './sku-buffer.js';
import { SkuFlusher, type SkuFlusherOptions } from './sku-flusher.js';
import { syncMetrics } from './sync-metrics.js';

const logger = silentLogger('sku-flusher-test');
const OK: CallOutcome = { kind: 'ok', code: 200 };

/** What a fake owitho received: every call, and the catalogue it ends with. */
class FakeOwitho {
  calls: Sku[][] = [];
  catalogue = new Map<string, Sku>();
  answer: (skus: Sku[]) => Promise<CallOutcome> = async () => OK;
  readonly send = async (skus: Sku[]): Promise<CallOutcome> => {
    this.calls.push(skus);
    const outcome = await this.answer(skus);
    if (outcome.kind === 'ok') for (const s of skus) this.catalogue.set(s.skuCode, s);
    return outcome;
  };
}

function flusher(
  buffer: SkuBuffer,
  owitho: FakeOwitho,
  options: Partial<SkuFlusherOptions> = {},
): SkuFlusher {
  return new SkuFlusher({
    buffer,
    send: owitho.send,
    batchSize: 50,
    maxWaitMs: 100,
    leaseMs: 30_000,
    retryBaseMs: 20,
    retryCapMs: 100,
    logger,
    metrics: syncMetrics(new Registry()),
    ...options,
  });
}

async function drained(buffer: SkuBuffer): Promise<boolean> {
  const s = await buffer.stats();
  return s.pending === 0 && s.inFlightBatches === 0;
}

describe('SkuFlusher', () => {
  redisTest(
    '1,000 changes over 250 SKUs, any order: owitho ends with the highest version of each, in ceil(250/50) calls',
    async ({ redis, prefix }) => {
      const buffer = new SkuBuffer({ redis, keyPrefix: prefix });
      const owitho = new FakeOwitho();
      // versions 1..1000, applied in a shuffled order (as concurrent consumers would)
      const writes = Array.from({ length: 1000 }, (_, v) => ({ i: v % 250, version: v + 1 }));
      for (let k = writes.length - 1; k > 0; k--) {
        const j = Math.floor(Math.random() * (k + 1));
        [writes[k], writes[j]] = [writes[j] as (typeof writes)[number], writes[k] as (typeof writes)[number]];
      }
      for (const w of writes) {
        const sku = skuOf(w.i, w.version);
        await buffer.upsert([{ skuCode: sku.skuCode, json: JSON.stringify(sku) }], w.version);
      }
      const f = flusher(buffer, owitho);
      f.start();
      try {
        await waitFor(() => drained(buffer), { what: 'the buffer to drain' });
        expect(owitho.catalogue.size).toBe(250);
        for (let i = 0; i < 250; i++) {
          const last = 1000 - 250 + i + 1; // the highest version written for SKU i
          expect(owitho.catalogue.get(skuOf(i).skuCode)?.skuName).toBe(`Product ${i} rev ${last}`);
        }
        expect(owitho.calls).toHaveLength(5);
        expect(Math.max(...owitho.calls.map((c) => c.length))).toBe(50);
      } finally {
        await f.close();
      }
    },
  );

  redisTest(
    'a lone change goes out once its max wait is over, with no wake-up',
    async ({ redis, prefix }) => {
      const buffer = new SkuBuffer({ redis, keyPrefix: prefix });
      const owitho = new FakeOwitho();
      const f = flusher(buffer, owitho, { maxWaitMs: 150, sweepMs: 60_000 });
      f.start();
      try {
        // the sweep is a minute away: only the flusher's own timer for the due time can send it
        const sku = skuOf(7, 1);
        await buffer.upsert([{ skuCode: sku.skuCode, json: JSON.stringify(sku) }], 1);
        const at = Date.now();
        f.wake();
        await waitFor(() => owitho.calls.length === 1, { what: 'the timed send' });
        expect(Date.now() - at).toBeGreaterThanOrEqual(100);
        expect(owitho.calls[0]).toEqual([sku]);
      } finally {
        await f.close();
      }
    },
  );

  redisTest(
    'a failed batch is resent whole with backoff, a newer change swapped in; nothing is forgotten before a 200',
    async ({ redis, prefix }) => {
      const buffer = new SkuBuffer({ redis, keyPrefix: prefix });
      const owitho = new FakeOwitho();
      let failures = 0;
      let superseded = false;
      owitho.answer = async () => {
        if (failures < 3) {
          failures++;
          if (!superseded) {
            superseded = true;
            const newer = skuOf(2, 99);
            await buffer.upsert([{ skuCode: newer.skuCode, json: JSON.stringify(newer) }], 99);
          }
          return { kind: 'retryable', reason: 'HTTP 503', status: 503 };
        }
        return OK;
      };
      for (let i = 0; i < 3; i++) {
        const sku = skuOf(i, 1);
        await buffer.upsert([{ skuCode: sku.skuCode, json: JSON.stringify(sku) }], i + 1);
      }
      const f = flusher(buffer, owitho, { maxWaitMs: 0 });
      f.start();
      try {
        await waitFor(() => drained(buffer), { what: 'the buffer to drain' });
        expect(owitho.calls).toHaveLength(4);
        const codes = owitho.calls.map((c) => c.map((s) => s.skuCode).sort());
        for (const c of codes) expect(c).toEqual(['SKU00000', 'SKU00001', 'SKU00002']);
        expect(owitho.calls[0]?.find((s) => s.skuCode === 'SKU00002')?.skuName).toBe('Product 2 rev 1');
        expect(owitho.calls[1]?.find((s) => s.skuCode === 'SKU00002')?.skuName).toBe('Product 2 rev 99');
        expect(owitho.catalogue.get('SKU00002')?.skuName).toBe('Product 2 rev 99');
      } finally {
        await f.close();
      }
    },
  );

  redisTest(
    'a pod dies holding a batch: another pod takes it back when the lease ends and sends it',
    async ({ redis, prefix }) => {
      const buffer = new SkuBuffer({ redis, keyPrefix: prefix });
      const dead = new FakeOwitho();
      let release: () => void = () => {};
      // the first pod's request never comes back (it "died" mid-send)
      dead.answer = () =>
        new Promise<CallOutcome>(
          (resolve) => (release = () => resolve({ kind: 'retryable', reason: 'gone' })),
        );
      for (let i = 0; i < 10; i++) {
        const sku = skuOf(i, 1);
        await buffer.upsert([{ skuCode: sku.skuCode, json: JSON.stringify(sku) }], i + 1);
      }
      const first = flusher(buffer, dead, { maxWaitMs: 0, leaseMs: 300 });
      first.start();
      await waitFor(() => dead.calls.length === 1, { what: 'the first pod to send' });
      const owitho = new FakeOwitho();
      const second = flusher(buffer, owitho, { maxWaitMs: 0, leaseMs: 30_000 });
      second.start();
      try {
        await waitFor(() => owitho.catalogue.size === 10, { what: 'the second pod to send the batch' });
        expect(owitho.calls).toHaveLength(1);
        expect(await drained(buffer)).toBe(true);
      } finally {
        release();
        await Promise.all([first.close(), second.close()]);
      }
    },
  );

  redisTest(
    'full batches are held while the queue still has changes for the buffer',
    async ({ redis, prefix }) => {
      const buffer = new SkuBuffer({ redis, keyPrefix: prefix });
      const owitho = new FakeOwitho();
      let backlog = 1;
      let takes = 0;
      const take = buffer.take.bind(buffer);
      buffer.take = async (options) => {
        const result = await take(options);
        takes++;
        return result;
      };
      const f = flusher(buffer, owitho, { batchSize: 5, maxWaitMs: 60_000, backlog: async () => backlog });
      for (let i = 0; i < 20; i++) {
        const sku = skuOf(i, 1);
        await buffer.upsert([{ skuCode: sku.skuCode, json: JSON.stringify(sku) }], i + 1);
      }
      f.start();
      try {
        await waitFor(() => takes >= 1);
        const before = takes;
        f.wake();
        await waitFor(() => takes > before, { what: 'a second look at the buffer' });
        expect(owitho.calls).toHaveLength(0);
        expect((await buffer.stats()).pending).toBe(20);
        backlog = 0;
        f.wake();
        await waitFor(() => drained(buffer), { what: 'the buffer to drain' });
        expect(owitho.calls.map((c) => c.length)).toEqual([5, 5, 5, 5]);
      } finally {
        await f.close();
      }
    },
  );
  redisTest(
    'a batch owitho refuses for good goes to the dead-letter list; later changes still go out',
    async ({ redis, prefix }) => {
      const buffer = new SkuBuffer({ redis, keyPrefix: prefix });
      const owitho = new FakeOwitho();
      let refuse = true;
      owitho.answer = async () =>
        refuse ? { kind: 'permanent', reason: 'owitho answered 40003', code: 40003 } : OK;
      for (let i = 0; i < 3; i++) {
        const sku = skuOf(i, 1);
        await buffer.upsert([{ skuCode: sku.skuCode, json: JSON.stringify(sku) }], i + 1);
      }
      const f = flusher(buffer, owitho, { maxWaitMs: 0 });
      f.start();
      try {
        await waitFor(async () => (await buffer.deadLetters()).length === 1, { what: 'a dead letter' });
        expect(owitho.calls).toHaveLength(1);
        const [dead] = await buffer.deadLetters();
        expect(dead?.reason).toBe('owitho answered 40003');
        expect(dead?.entries.map((e) => e.skuCode).sort()).toEqual(['SKU00000', 'SKU00001', 'SKU00002']);
        expect(await drained(buffer)).toBe(true);
        refuse = false;
        const next = skuOf(1, 2);
        await buffer.upsert([{ skuCode: next.skuCode, json: JSON.stringify(next) }], 10);
        f.wake();
        await waitFor(() => owitho.catalogue.get('SKU00001')?.skuName === 'Product 1 rev 2', {
          what: 'the next change to go out',
        });
        expect(owitho.calls).toHaveLength(2);
      } finally {
        await f.close();
      }
    },
  );
});
