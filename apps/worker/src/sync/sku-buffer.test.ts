import { redisTest, skuOf } from '@owc/testing';
import { describe, expect } from 'vitest';
import { SkuBuffer, type SkuChange } from './sku-buffer.js';

const change = (i: number, rev: number): SkuChange => {
  const sku = skuOf(i, rev);
  return { skuCode: sku.skuCode, json: JSON.stringify(sku) };
};
const revOf = (json: string) => Number(/rev (\d+)/.exec(json)?.[1]);
const LEASE = 60_000;

describe('SkuBuffer', () => {
  redisTest(
    'coalesces by skuCode: the highest version wins whatever the order of arrival',
    async ({ redis, prefix }) => {
      const buffer = new SkuBuffer({ redis, keyPrefix: prefix });
      await buffer.upsert([change(1, 5)], 50);
      await buffer.upsert([change(1, 9)], 90);
      // a stale job (lower version) and a repeated one (same version) change nothing
      expect((await buffer.upsert([change(1, 7)], 70)).accepted).toBe(0);
      expect((await buffer.upsert([change(1, 9)], 90)).accepted).toBe(0);
      await buffer.upsert([change(2, 1)], 10);
      expect((await buffer.stats()).pending).toBe(2);
      const taken = await buffer.take({ maxBatch: 10, maxWaitMs: 0, leaseMs: LEASE });
      expect(taken.batch?.entries.map((e) => [e.skuCode, revOf(e.json), e.version])).toEqual([
        ['SKU00001', 9, 90],
        ['SKU00002', 1, 10],
      ]);
    },
  );

  redisTest(
    'replaying a dead batch never puts an older state over a newer one, synced or still to come',
    async ({ redis, prefix }) => {
      const buffer = new SkuBuffer({ redis, keyPrefix: prefix });
      const sendAll = async () => {
        const taken = await buffer.take({ maxBatch: 10, maxWaitMs: 0, leaseMs: LEASE });
        if (!taken.batch) throw new Error('expected a batch');
        return taken.batch;
      };
      // rev 1 of SKU 1, 2 and 3 goes out in one batch that owitho refuses for good
      await buffer.upsert([change(1, 1), change(2, 1), change(3, 1)], 10);
      const dead = await sendAll();
      expect(await buffer.deadLetter(dead.id, 'permanent: 40000')).toBe(true);
      const [record] = await buffer.deadLetters();
      if (!record) throw new Error('expected a dead batch');
      // since then SKU 1 changed and was synced (rev 2), SKU 2 changed and waits (rev 3)
      await buffer.upsert([change(1, 2)], 20);
      const synced = await sendAll();
      expect(await buffer.ack(synced.id, synced.entries)).toBe(true);
      await buffer.upsert([change(2, 3)], 30);

      const first = await buffer.replay(record.entries);
      expect({ replayed: first.replayed, skipped: [...first.skipped].sort() }).toEqual({
        replayed: ['SKU00003'],
        skipped: ['SKU00001', 'SKU00002'],
      });
      const next = await sendAll();
      expect(next.entries.map((e) => [e.skuCode, revOf(e.json), e.version]).sort()).toEqual([
        ['SKU00002', 3, 30],
        ['SKU00003', 1, 10],
      ]);
      expect(await buffer.ack(next.id, next.entries)).toBe(true);

      // replayed again: SKU 3 went back at its own version 10, so a change enqueued after the dead
      // one (version 15) but consumed only now still wins, and a stale one (5) still loses
      expect((await buffer.replay(record.entries)).replayed).toEqual(['SKU00003']);
      expect((await buffer.upsert([change(3, 4)], 15)).accepted).toBe(1);
      expect((await buffer.upsert([change(3, 0)], 5)).accepted).toBe(0);
      const last = await sendAll();
      expect(last.entries.map((e) => [e.skuCode, revOf(e.json), e.version])).toEqual([['SKU00003', 4, 15]]);
      expect(await buffer.replay([])).toEqual({ replayed: [], skipped: [] });
    },
  );

  redisTest(
    'a stale version arriving after the newer one was sent never goes out',
    async ({ redis, prefix }) => {
      const buffer = new SkuBuffer({ redis, keyPrefix: prefix });
      await buffer.upsert([change(1, 9)], 90);
      const taken = await buffer.take({ maxBatch: 10, maxWaitMs: 0, leaseMs: LEASE });
      if (!taken.batch) throw new Error('expected a batch');
      expect(await buffer.ack(taken.batch.id, taken.batch.entries)).toBe(true);
      expect((await buffer.upsert([change(1, 5)], 50)).accepted).toBe(0);
      expect(await buffer.stats()).toMatchObject({
        pending: 0,
        inFlightBatches: 0,
        inFlightSkus: 0,
        known: 1,
      });
    },
  );

  redisTest(
    'no version: the queue id counter gives the next one (after every auto id so far)',
    async ({ redis, prefix }) => {
      const buffer = new SkuBuffer({ redis, keyPrefix: prefix });
      await redis.set(`${prefix}:{sku-sync}:sku-sync:id`, '41');
      const first = await buffer.upsert([change(1, 1)]);
      expect(first.version).toBe(42);
      expect((await buffer.upsert([change(1, 0)], 41)).accepted).toBe(0);
      expect((await buffer.upsert([change(1, 2)], 43)).accepted).toBe(1);
    },
  );

  redisTest(
    'sends when full, or when the oldest change is due; a held full batch waits for its age',
    async ({ redis, prefix }) => {
      const buffer = new SkuBuffer({ redis, keyPrefix: prefix });
      for (let i = 0; i < 5; i++) await buffer.upsert([change(i, 0)], i + 1);
      const notDue = await buffer.take({ maxBatch: 10, maxWaitMs: 60_000, leaseMs: LEASE });
      expect(notDue.batch).toBeUndefined();
      if (notDue.batch) return;
      expect(notDue.pending).toBe(5);
      expect(notDue.dueInMs).toBeGreaterThan(50_000);
      expect(notDue.leaseInMs).toBeUndefined();
      const held = await buffer.take({ maxBatch: 3, maxWaitMs: 60_000, leaseMs: LEASE, holdFull: true });
      expect(held.batch).toBeUndefined();
      const full = await buffer.take({ maxBatch: 3, maxWaitMs: 60_000, leaseMs: LEASE });
      expect(full.batch?.entries.map((e) => e.skuCode)).toEqual(['SKU00000', 'SKU00001', 'SKU00002']);
      const rest = await buffer.take({ maxBatch: 3, maxWaitMs: 0, leaseMs: LEASE });
      expect(rest.batch?.entries).toHaveLength(2);
      const empty = await buffer.take({ maxBatch: 3, maxWaitMs: 0, leaseMs: LEASE });
      expect(empty.batch).toBeUndefined();
      if (!empty.batch) expect(empty.leaseInMs).toBeGreaterThan(50_000);
    },
  );

  redisTest(
    'a SKU with a batch in flight is not taken again until that batch is answered',
    async ({ redis, prefix }) => {
      const buffer = new SkuBuffer({ redis, keyPrefix: prefix });
      await buffer.upsert([change(1, 1), change(2, 1)], 1);
      const first = await buffer.take({ maxBatch: 10, maxWaitMs: 0, leaseMs: LEASE });
      if (!first.batch) throw new Error('expected a batch');
      await buffer.upsert([change(1, 2)], 2);
      await buffer.upsert([change(3, 1)], 3);
      const second = await buffer.take({ maxBatch: 10, maxWaitMs: 0, leaseMs: LEASE });
      expect(second.batch?.entries.map((e) => e.skuCode)).toEqual(['SKU00003']);
      const blocked = await buffer.take({ maxBatch: 10, maxWaitMs: 0, leaseMs: LEASE });
      expect(blocked.batch).toBeUndefined();
      if (!blocked.batch) expect(blocked.pending).toBe(1);
      await buffer.ack(first.batch.id, first.batch.entries);
      const third = await buffer.take({ maxBatch: 10, maxWaitMs: 0, leaseMs: LEASE });
      expect(third.batch?.entries.map((e) => [e.skuCode, revOf(e.json)])).toEqual([['SKU00001', 2]]);
    },
  );

  redisTest(
    'an expired lease puts the batch back, unless a newer version superseded it',
    async ({ redis, prefix }) => {
      const buffer = new SkuBuffer({ redis, keyPrefix: prefix });
      await buffer.upsert([change(1, 1), change(2, 1)], 1);
      const lost = await buffer.take({ maxBatch: 10, maxWaitMs: 0, leaseMs: 1 });
      if (!lost.batch) throw new Error('expected a batch');
      await buffer.upsert([change(2, 2)], 2);
      // make sure the 1 ms lease is over on Redis's clock
      await new Promise((r) => setTimeout(r, 5));
      const retaken = await buffer.take({ maxBatch: 10, maxWaitMs: 0, leaseMs: LEASE });
      expect(retaken.reclaimed).toBe(1);
      expect(
        retaken.batch?.entries
          .map((e) => [e.skuCode, revOf(e.json)])
          .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
      ).toEqual([
        ['SKU00001', 1],
        ['SKU00002', 2],
      ]);
      // the old holder learns it lost the batch; its late 200 drops nothing newer
      expect(await buffer.renew(lost.batch.id, LEASE)).toBeUndefined();
      expect(await buffer.ack(lost.batch.id, lost.batch.entries)).toBe(false);
      expect((await buffer.stats()).inFlightSkus).toBe(2);
    },
  );

  redisTest(
    'renew swaps a newer pending version into a batch waiting to be resent',
    async ({ redis, prefix }) => {
      const buffer = new SkuBuffer({ redis, keyPrefix: prefix });
      await buffer.upsert([change(1, 1), change(2, 1)], 1);
      const taken = await buffer.take({ maxBatch: 10, maxWaitMs: 0, leaseMs: LEASE });
      if (!taken.batch) throw new Error('expected a batch');
      await buffer.upsert([change(2, 7)], 7);
      const renewed = await buffer.renew(taken.batch.id, LEASE);
      expect(
        renewed
          ?.map((e) => [e.skuCode, revOf(e.json), e.version])
          .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
      ).toEqual([
        ['SKU00001', 1, 1],
        ['SKU00002', 7, 7],
      ]);
      expect((await buffer.stats()).pending).toBe(0);
      if (renewed) await buffer.ack(taken.batch.id, renewed);
      expect(await buffer.stats()).toMatchObject({ pending: 0, inFlightBatches: 0, inFlightSkus: 0 });
    },
  );

  redisTest('release gives a batch back at once', async ({ redis, prefix }) => {
    const buffer = new SkuBuffer({ redis, keyPrefix: prefix });
    await buffer.upsert([change(1, 1)], 1);
    const taken = await buffer.take({ maxBatch: 10, maxWaitMs: 0, leaseMs: LEASE });
    if (!taken.batch) throw new Error('expected a batch');
    await buffer.release(taken.batch.id);
    const again = await buffer.take({ maxBatch: 10, maxWaitMs: 0, leaseMs: LEASE });
    expect(again.batch?.entries.map((e) => e.skuCode)).toEqual(['SKU00001']);
  });

  redisTest('every key shares one hash tag', async ({ redis, prefix }) => {
    const buffer = new SkuBuffer({ redis, keyPrefix: prefix });
    await buffer.upsert([change(1, 1)], 1);
    await buffer.take({ maxBatch: 10, maxWaitMs: 0, leaseMs: LEASE });
    const keys = await redis.keys(`${prefix}*`);
    expect(keys.length).toBeGreaterThan(4);
    for (const key of keys) expect(key.startsWith(`${prefix}:{sku-sync}:`)).toBe(true);
  });
});
