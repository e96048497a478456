import type { OrderNotice } from '@owc/protocol';
import { redisTest, sampleNotice } from '@owc/testing';
import { describe, expect } from 'vitest';
import { orderKeys } from './order-keys.js';
import { OrderStore } from './order-store.js';
import { OrderTimeline } from './order-timeline.js';

const DAY = 24 * 3600 * 1000;

/** 3 × COLA at 1.67 and 1 × CHIPS at 1.99: four units, 7.00 paid of 8.00 */
const notice = (id: string, overrides: Partial<OrderNotice> = {}): OrderNotice =>
  sampleNotice(id, {
    orderDetailList: [
      { skuCode: 'COLA', slotNum: '01', quantity: 3, originalPrice: '2.00', actualPrice: '1.67' },
      { skuCode: 'CHIPS', slotNum: '02', quantity: 1, originalPrice: '2.00', actualPrice: '1.99' },
    ],
    ...overrides,
  });

describe('OrderStore', () => {
  redisTest(
    'accepts once; same content is a duplicate, other content a conflict',
    async ({ redis, prefix }) => {
      const store = new OrderStore({ redis, keyPrefix: prefix, ttlMs: 30 * DAY });
      expect(await store.accept(notice('A1'))).toEqual({ outcome: 'created', state: 'accepted' });
      // key order differs, content the same
      const reordered = JSON.parse(JSON.stringify({ ...notice('A1') })) as OrderNotice;
      expect((await store.accept({ ...reordered })).outcome).toBe('duplicate');
      expect((await store.accept(notice('A1', { actualAmount: '6.00' }))).outcome).toBe('conflict');
      const record = await store.get('A1');
      expect(record).toMatchObject({ state: 'accepted', duplicates: 1, conflicts: 1, machineCode: 'M001' });
      expect(record?.notice.actualAmount).toBe('7.00');
      expect(record?.units).toHaveLength(4);
      const ttl = await redis.pttl(orderKeys(prefix, 'A1').record);
      expect(ttl).toBeGreaterThan(29 * DAY);
      expect(orderKeys(prefix, 'A1').record).toBe(`${prefix}:{order:A1}:record`);
    },
  );

  redisTest('50 concurrent accepts of one id create exactly one record', async ({ redis, prefix }) => {
    const store = new OrderStore({ redis, keyPrefix: prefix, ttlMs: DAY });
    const outcomes = await Promise.all(Array.from({ length: 50 }, () => store.accept(notice('C1'))));
    expect(outcomes.filter((o) => o.outcome === 'created')).toHaveLength(1);
    expect(outcomes.filter((o) => o.outcome === 'duplicate')).toHaveLength(49);
  });

  redisTest(
    'units: attempted before the vend, first result wins, query shows 100 meanwhile',
    async ({ redis, prefix }) => {
      const store = new OrderStore({ redis, keyPrefix: prefix, ttlMs: DAY });
      await store.accept(notice('U1'));
      expect(await store.markAttempted('U1', 0)).toMatchObject({ s: 'attempted', n: 1 });
      expect(await store.markAttempted('U1', 0)).toMatchObject({ s: 'attempted', n: 2 });
      expect((await store.get('U1'))?.state).toBe('dispensing');
      expect(await store.recordUnitResult('U1', 0, { status: 'success' })).toMatchObject({ s: 'success' });
      // a later, different result for the same unit does not replace the first
      expect(await store.recordUnitResult('U1', 0, { status: 'failed', reason: 'jammed' })).toMatchObject({
        s: 'success',
      });
      // and a recorded unit is never put back to attempted
      expect(await store.markAttempted('U1', 0)).toMatchObject({ s: 'success' });
      expect(await store.unitState('U1', 0)).toMatchObject({ s: 'success' });
      expect(await store.unitState('U1', 3)).toBeUndefined();
      await store.recordUnitResult('U1', 1, { status: 'failed', reason: 'slot_empty' });
      expect(await store.queryResult('U1')).toEqual({
        orderViewId: 'U1',
        outStatus: 100,
        outDetailList: [
          { slotNum: '01', skuCode: 'COLA', status: 200 },
          { slotNum: '01', skuCode: 'COLA', status: 400 },
          { slotNum: '01', skuCode: 'COLA', status: 100 },
          { slotNum: '02', skuCode: 'CHIPS', status: 100 },
        ],
      });
      expect(await store.finalize('U1')).toBeUndefined();
      expect(await store.queryResult('nope')).toBeUndefined();
      await expect(store.markAttempted('nope', 0)).rejects.toThrow(/not in the store/);
    },
  );

  redisTest('finalises once, with outStatus from the unit results', async ({ redis, prefix }) => {
    const store = new OrderStore({ redis, keyPrefix: prefix, ttlMs: DAY });
    await store.accept(notice('F1'));
    const stale = await store.get('F1');
    for (const i of [0, 1, 2]) await store.recordUnitResult('F1', i, { status: 'success' });
    expect(await store.finalize('F1', stale)).toBeUndefined();
    await store.recordUnitResult('F1', 3, { status: 'failed', reason: 'jammed' });
    // a record read before the last results is not trusted: the store is read instead
    const results = await Promise.all(Array.from({ length: 10 }, () => store.finalize('F1', stale)));
    expect(results.filter((r) => r?.finalizedNow)).toHaveLength(1);
    for (const r of results) expect(r?.result.outStatus).toBe(300);
    expect(results[0]?.result.outDetailList.map((d) => d.status)).toEqual([200, 200, 200, 400]);
    expect(await store.queryResult('F1')).toEqual(results[0]?.result);
    expect((await store.stats()).partial).toBe(1);
  });

  redisTest('callback state: attempts, dead, revive, reported', async ({ redis, prefix }) => {
    const store = new OrderStore({ redis, keyPrefix: prefix, ttlMs: DAY });
    await store.accept(notice('B1', { orderDetailList: [notice('x').orderDetailList[1] as never] }));
    await store.indexAccepted('B1', 1000);
    await store.recordUnitResult('B1', 0, { status: 'success' });
    await store.finalize('B1');
    await store.recordCallbackAttempt('B1', 'HTTP 503');
    await store.markDead('B1', 'gave up');
    expect((await store.get('B1'))?.state).toBe('dead');
    expect(await store.deadOrders()).toEqual(['B1']);
    expect(await store.revive('B1')).toBe(true);
    expect(await store.revive('B1')).toBe(false);
    expect(await store.openSince(2000)).toEqual(['B1']);
    await store.markReported('B1');
    const record = await store.get('B1');
    expect(record?.state).toBe('reported');
    expect(record?.callback.attempts).toBe(2);
    expect(record?.callback.reportedAt).toBeGreaterThan(0);
    expect(await store.openSince(Date.now())).toEqual([]);
    expect(await store.deadOrders()).toEqual([]);
  });
});

describe('a reported order', () => {
  redisTest(
    'shrinks to what deduplication and order/query need, and keeps answering both',
    async ({ redis, prefix }) => {
      const store = new OrderStore({ redis, keyPrefix: prefix, ttlMs: 30 * DAY });
      await store.accept(notice('S1'));
      await store.accept(notice('S1'));
      for (const i of [0, 1, 2]) await store.recordUnitResult('S1', i, { status: 'success' });
      await store.recordUnitResult('S1', 3, { status: 'failed', reason: 'jammed' });
      const final = await store.finalize('S1');
      await store.recordCallbackAttempt('S1', 'HTTP 503');
      await store.markReported('S1');
      const keys = orderKeys(prefix, 'S1');
      expect(await redis.exists(keys.units)).toBe(0);
      expect(await redis.hexists(keys.record, 'notice')).toBe(0);
      // small fields only: Redis keeps the hash in its compact encoding
      expect(await redis.object('ENCODING', keys.record)).toBe('listpack');
      expect(await redis.pttl(keys.record)).toBeGreaterThan(29 * DAY);

      const record = await store.get('S1');
      expect(record).toMatchObject({
        shape: 'reported',
        state: 'reported',
        machineCode: 'M001',
        duplicates: 1,
        callback: { attempts: 1 },
      });
      // what the notice said about money and payment stays, exactly; the rest of it goes
      expect(record?.notice).toEqual({
        orderViewId: 'S1',
        machineCode: 'M001',
        actualAmount: '7.00',
        originAmount: notice('S1').originAmount,
        discountMoney: notice('S1').discountMoney,
        payMethod: notice('S1').payMethod,
        payStatus: 1,
        refundStatus: 0,
      });
      expect(record?.unitStates.get(3)).toMatchObject({ s: 'failed', reason: 'jammed' });
      expect(record?.units.map((u) => [u.vendId, u.slotNum, u.skuCode])).toEqual([
        ['S1-0', '01', 'COLA'],
        ['S1-1', '01', 'COLA'],
        ['S1-2', '01', 'COLA'],
        ['S1-3', '02', 'CHIPS'],
      ]);
      expect(record?.callback.reportedAt).toBeGreaterThan(0);
      expect(await store.queryResult('S1')).toEqual(final?.result);
      expect((await store.finalResult('S1'))?.result).toEqual(final?.result);
      expect(await store.finalize('S1')).toEqual({ result: final?.result, finalizedNow: false });

      expect(await store.accept(notice('S1'))).toEqual({ outcome: 'duplicate', state: 'reported' });
      expect((await store.accept(notice('S1', { actualAmount: '6.00' }))).outcome).toBe('conflict');
      await store.markReported('S1');
      expect(await store.get('S1')).toMatchObject({ state: 'reported', duplicates: 2, conflicts: 1 });
    },
  );
});

describe('accept bookkeeping', () => {
  redisTest(
    'indexes the order for the search at accept; its timeline starts with accepted',
    async ({ redis, prefix }) => {
      const store = new OrderStore({ redis, keyPrefix: prefix, ttlMs: DAY });
      const timeline = new OrderTimeline({ redis, keyPrefix: prefix, ttlMs: DAY, maxEvents: 10 });
      await store.accept(notice('I1'));
      await store.bookAccepted(notice('I1'), 'created', true);
      await store.bookAccepted(notice('I1'), 'duplicate', false);
      expect((await timeline.search({ machineCode: 'M001', limit: 10 })).map((f) => f.orderViewId)).toEqual([
        'I1',
      ]);
      expect((await timeline.search({ limit: 10 })).map((f) => f.orderViewId)).toEqual(['I1']);
      expect(await store.openSince(Date.now() + 1000)).toEqual(['I1']);
      expect(await store.stats()).toMatchObject({ accepted: 1, duplicates: 1 });
      // the dispense job's own index call finds it indexed: no second `accepted`
      expect(await timeline.index('I1', 'M001', Date.now())).toBe(false);
      await timeline.append('I1', { e: 'final', at: Date.now(), outStatus: 200 });
      expect((await timeline.read('I1')).map((e) => e.e)).toEqual(['accepted', 'final']);
      expect(await timeline.read('nope')).toEqual([]);
    },
  );
});

describe('the order timeline', () => {
  redisTest(
    'keeps events compact, reads the older object form, and caps the list',
    async ({ redis, prefix }) => {
      const timeline = new OrderTimeline({ redis, keyPrefix: prefix, ttlMs: DAY, maxEvents: 4 });
      const key = orderKeys(prefix, 'T1').timeline;
      await redis.rpush(key, JSON.stringify({ e: 'accepted', at: 1 }));
      const events = [
        { e: 'vend', at: 2, unit: 0, vendId: 'T1-0', answer: 'success' },
        { e: 'vend', at: 3, unit: 1, vendId: 'other-1', answer: 'failed: jammed' },
        { e: 'final', at: 4, outStatus: 300 },
      ] as const;
      for (const event of events) await timeline.append('T1', event);
      expect(await timeline.read('T1')).toEqual([{ e: 'accepted', at: 1 }, ...events]);
      expect(await redis.lindex(key, 1)).toBe('["v",2,0,"success"]');
      await timeline.append('T1', { e: 'callback', at: 5, attempt: 1, answer: 'ok' });
      await timeline.append('T1', { e: 'callback-replay', at: 6, jobId: 'cb-T1-replay-6' });
      expect((await timeline.read('T1')).map((e) => e.at)).toEqual([3, 4, 5, 6]);
      expect(await redis.pttl(key)).toBeGreaterThan(DAY - 60_000);
    },
  );
});
