import type { OrderNotice } from '@owc/protocol';
import { redisTest, sampleNotice } from '@owc/testing';
import { describe, expect } from 'vitest';
import { fingerprint } from './fingerprint.js';
import { hourLogKey, indexKeys, machineDayLogKey, machineIndexKey, orderKeys } from './order-keys.js';
import { PackedOrderError } from './order-packed.js';
import { OrderStore } from './order-store.js';
import { type OrderSearch, OrderTimeline, type TimelineEvent } from './order-timeline.js';

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

  redisTest(
    'a stored notice not in the form accept writes is read through the notice schema',
    async ({ redis, prefix }) => {
      const store = new OrderStore({ redis, keyPrefix: prefix, ttlMs: DAY });
      const stored = notice('S1');
      const [line] = stored.orderDetailList;
      // money as owitho may send it, not as accept stores it: read as wire money all the same
      const loose = {
        ...stored,
        actualAmount: 7,
        orderDetailList: [{ ...line, actualPrice: '1.5' }],
      };
      await redis.hset(orderKeys(prefix, 'S1').record, {
        notice: JSON.stringify(loose),
        state: 'accepted',
        acceptedAt: '1000',
        machineCode: 'M001',
      });
      const record = await store.get('S1');
      expect(record?.notice.actualAmount).toBe('7.00');
      expect(record?.shape === 'whole' && record.notice.orderDetailList[0]?.actualPrice).toBe('1.50');
      // not a notice at all: the schema's error names the field
      await redis.hset(orderKeys(prefix, 'S2').record, {
        notice: JSON.stringify({ ...stored, orderViewId: 'S2', actualAmount: '-1' }),
        state: 'accepted',
        acceptedAt: '1000',
        machineCode: 'M001',
      });
      await expect(store.get('S2')).rejects.toThrow(/actualAmount/);
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

  redisTest(
    'the units hash gets its expiry once, when it is created (a vend marked, or a result without one)',
    async ({ redis, prefix }) => {
      const store = new OrderStore({ redis, keyPrefix: prefix, ttlMs: DAY });
      await store.accept(notice('T1'));
      const units = orderKeys(prefix, 'T1').units;
      await store.markAttempted('T1', 0);
      expect(await redis.pttl(units)).toBeGreaterThan(DAY - 60_000);
      // later writes leave the expiry as it is
      await redis.pexpire(units, 5 * 60_000);
      await store.step('T1', { index: 0, result: { status: 'success' } }, 1);
      await store.finalizeWith(
        'T1',
        notice('T1').orderDetailList.flatMap((l) => Array.from({ length: l.quantity }, () => l)),
        ['success', 'success', 'failed', 'failed'],
        { index: 1, result: { status: 'success' } },
      );
      expect(await redis.pttl(units)).toBeLessThanOrEqual(5 * 60_000);
      // an order settled without a vend (not paid): its first result creates the hash, with its expiry
      await store.accept(notice('T2', { payStatus: 0 }));
      await store.recordUnitResult('T2', 0, { status: 'failed', reason: 'not_paid' });
      expect(await redis.pttl(orderKeys(prefix, 'T2').units)).toBeGreaterThan(DAY - 60_000);
      await store.accept(notice('T3', { payStatus: 0 }));
      const one = [{ slotNum: '01', skuCode: 'COLA' }];
      await store.finalizeWith('T3', one, ['failed'], {
        index: 0,
        result: { status: 'failed', reason: 'x' },
      });
      expect(await redis.pttl(orderKeys(prefix, 'T3').units)).toBeGreaterThan(DAY - 60_000);
    },
  );

  redisTest(
    'the last unit and the final result in one step without the record read; a record gone (expired) stays gone',
    async ({ redis, prefix }) => {
      const store = new OrderStore({ redis, keyPrefix: prefix, ttlMs: DAY });
      const one = [{ slotNum: '02', skuCode: 'CHIPS' }];
      for (const id of ['G1', 'G2']) {
        await store.accept(notice(id, { orderDetailList: [notice('x').orderDetailList[1] as never] }));
        await store.markAttempted(id, 0);
      }
      const last = { index: 0, result: { status: 'success' } } as const;
      expect(await store.finalizeWith('G1', one, ['success'], last)).toMatchObject({
        finalizedNow: true,
        result: { outStatus: 200 },
      });
      expect(await store.get('G1')).toMatchObject({ state: 'final', result: { outStatus: 200 } });
      await redis.del(orderKeys(prefix, 'G2').record);
      expect(await store.finalizeWith('G2', one, ['success'], last)).toBeUndefined();
      expect(await redis.exists(orderKeys(prefix, 'G2').record)).toBe(0);
      expect((await store.stats()).final).toBe(1);
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
    expect(await store.stats()).toMatchObject({ final: 1, partial: 1, succeeded: 0, failed: 0 });
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

  redisTest(
    'a revive whose bookkeeping never ran (the process died): the report still takes the order out of the dead letters',
    async ({ redis, prefix }) => {
      const store = new OrderStore({ redis, keyPrefix: prefix, ttlMs: DAY });
      for (const id of ['R1', 'R2']) {
        await store.accept(notice(id, { orderDetailList: [notice('x').orderDetailList[1] as never] }));
        await store.indexAccepted(id, 1000);
        await store.recordUnitResult(id, 0, { status: 'success' });
        await store.finalize(id);
      }
      await store.markDead('R1', 'gave up');
      expect(await store.revive('R1')).toBe(true);
      // the revive's own bookkeeping lost: R1 still listed as a dead letter
      await redis.zadd(indexKeys(prefix).dead, 5000, 'R1');
      expect(await store.deadOrders()).toEqual(['R1']);
      // R2 was never dead: its report leaves the dead letters alone
      expect(await store.markReported('R2')).toBe(true);
      expect(await store.deadOrders()).toEqual(['R1']);
      expect(await store.markReported('R1')).toBe(true);
      expect(await store.deadOrders()).toEqual([]);
      expect(await store.openSince(Date.now())).toEqual([]);
      expect((await store.stats()).reported).toBe(2);
    },
  );
});

describe('a reported order', () => {
  redisTest(
    'packs into one string with its timeline, and keeps answering deduplication, order/query and its pages',
    async ({ redis, prefix }) => {
      const store = new OrderStore({ redis, keyPrefix: prefix, ttlMs: 30 * DAY });
      const timeline = new OrderTimeline({ redis, keyPrefix: prefix, ttlMs: 30 * DAY, maxEvents: 100 });
      await store.accept(notice('S1'));
      await store.accept(notice('S1'));
      const acceptedAt = (await store.get('S1'))?.acceptedAt ?? 0;
      for (const i of [0, 1, 2]) await store.recordUnitResult('S1', i, { status: 'success' });
      await store.recordUnitResult('S1', 3, { status: 'failed', reason: 'jammed\nhard' });
      const final = await store.finalize('S1');
      const events = [
        ...[0, 1, 2].map((unit) => ({
          e: 'vend' as const,
          at: acceptedAt + 100 * (unit + 1),
          unit,
          vendId: `S1-${unit}`,
          answer: 'success',
        })),
        { e: 'vend', at: acceptedAt + 400, unit: 3, vendId: 'S1-3', answer: 'failed: jammed\nhard' },
        { e: 'final', at: acceptedAt + 450, outStatus: 300 },
        { e: 'callback', at: acceptedAt + 500, attempt: 1, answer: 'retryable: HTTP 503' },
        { e: 'callback', at: acceptedAt + 90_000, attempt: 2, answer: 'ok: owitho answered 200' },
      ] as const;
      await timeline.append('S1', ...events.slice(0, 5));
      await store.recordCallbackAttempt('S1', 'HTTP 503');
      await timeline.append('S1', ...events.slice(5));
      await store.markReported('S1');
      const keys = orderKeys(prefix, 'S1');
      // one key left: a string of ~150 bytes (4 units, 7 events, an error), with the record's expiry
      expect(await redis.exists(keys.units, keys.timeline)).toBe(0);
      expect(await redis.type(keys.record)).toBe('string');
      expect(await redis.strlen(keys.record)).toBeLessThan(160);
      expect(await redis.pttl(keys.record)).toBeGreaterThan(29 * DAY);

      const record = await store.get('S1');
      expect(record).toMatchObject({
        shape: 'reported',
        state: 'reported',
        acceptedAt,
        machineCode: 'M001',
        duplicates: 1,
        callback: { attempts: 1, lastError: 'HTTP 503' },
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
      // control characters in free texts become spaces (they separate the packed fields)
      expect(record?.unitStates.get(3)).toMatchObject({ s: 'failed', reason: 'jammed hard' });
      expect(record?.units.map((u) => [u.vendId, u.slotNum, u.skuCode])).toEqual([
        ['S1-0', '01', 'COLA'],
        ['S1-1', '01', 'COLA'],
        ['S1-2', '01', 'COLA'],
        ['S1-3', '02', 'CHIPS'],
      ]);
      // reported after final (the packed form counts it from finalAt), and not in the future
      expect(record?.callback.reportedAt).toBeGreaterThanOrEqual(record?.finalAt ?? Number.POSITIVE_INFINITY);
      expect(record?.callback.reportedAt).toBeLessThanOrEqual(Date.now());
      expect(await store.queryResult('S1')).toEqual(final?.result);
      expect((await store.finalResult('S1'))?.result).toEqual(final?.result);
      expect(await store.finalize('S1')).toEqual({ result: final?.result, finalizedNow: false });
      // a late dispense step changes nothing and is told the stored results
      expect(await store.markAttempted('S1', 3)).toMatchObject({ s: 'failed', reason: 'jammed hard' });
      expect(await store.revive('S1')).toBe(false);
      await store.recordCallbackAttempt('S1', 'late');
      await store.markDead('S1', 'late');
      expect(await store.deadOrders()).toEqual([]);

      const expected = [
        { e: 'accepted', at: acceptedAt },
        ...events.map((e) => (e.e === 'vend' && e.unit === 3 ? { ...e, answer: 'failed: jammed hard' } : e)),
      ];
      expect(await timeline.read('S1')).toEqual(expected);
      // events after the report go into the packed record too (a replay and its delivery)
      const later = [
        { e: 'callback-replay', at: acceptedAt + 100_000, jobId: 'cb-S1-replay-1' },
        { e: 'callback', at: acceptedAt + 99_000, attempt: 3, answer: 'ok: owitho answered 200' },
        { e: 'vend', at: acceptedAt + 100_001, unit: 0, vendId: 'other', answer: '!odd' },
      ] as const;
      await timeline.append('S1', ...later);
      expect(await redis.exists(keys.timeline)).toBe(0);
      expect(await timeline.read('S1')).toEqual([...expected, ...later].sort((a, b) => a.at - b.at));
      expect(await redis.pttl(keys.record)).toBeGreaterThan(29 * DAY);

      expect(await store.accept(notice('S1'))).toEqual({ outcome: 'duplicate', state: 'reported' });
      expect((await store.accept(notice('S1', { actualAmount: '6.00' }))).outcome).toBe('conflict');
      await store.markReported('S1');
      expect(await store.get('S1')).toMatchObject({ state: 'reported', duplicates: 2, conflicts: 1 });
      expect((await store.get('S1'))?.notice.actualAmount).toBe('7.00');
    },
  );

  redisTest(
    'events handed to the report are packed after the list’s own (the newest kept), never written to the list',
    async ({ redis, prefix }) => {
      const store = new OrderStore({ redis, keyPrefix: prefix, ttlMs: DAY });
      const timeline = new OrderTimeline({ redis, keyPrefix: prefix, ttlMs: DAY, maxEvents: 3 });
      await store.accept(notice('E1'));
      const acceptedAt = (await store.get('E1'))?.acceptedAt ?? 0;
      const unitsOf = notice('E1').orderDetailList.flatMap((l) =>
        Array.from({ length: l.quantity }, () => l),
      );
      for (const index of [0, 1, 2, 3]) await store.recordUnitResult('E1', index, { status: 'success' });
      const final = await store.finalizeWith(
        'E1',
        unitsOf,
        ['success', 'success', 'success', 'success'],
        undefined,
      );
      expect(final?.finalizedNow).toBe(true);
      const vend = (unit: number) =>
        ({
          e: 'vend',
          at: acceptedAt + 10 * (unit + 1),
          unit,
          vendId: `E1-${unit}`,
          answer: 'success',
        }) as const;
      await timeline.append('E1', vend(0));
      const handed = [
        vend(1),
        { e: 'final', at: acceptedAt + 50, outStatus: 200 },
        { e: 'callback', at: acceptedAt + 60, attempt: 1, answer: 'ok: owitho answered 200' },
      ] as const;
      expect(await store.markReported('E1', timeline.encode('E1', handed), timeline.maxEvents)).toBe(true);
      const keys = orderKeys(prefix, 'E1');
      expect(await redis.exists(keys.units, keys.timeline)).toBe(0);
      // the newest 3 of the 4 events (the list's one, then the three handed over)
      expect((await timeline.read('E1')).slice(1)).toEqual(handed);
      expect(await redis.pttl(keys.record)).toBeGreaterThan(DAY - 60_000);
      // reported already: nothing is taken (the caller appends them)
      expect(await store.markReported('E1', timeline.encode('E1', [vend(3)]), 3)).toBe(false);
    },
  );

  redisTest('a timeline packed full takes no more events', async ({ redis, prefix }) => {
    const store = new OrderStore({ redis, keyPrefix: prefix, ttlMs: DAY });
    const timeline = new OrderTimeline({ redis, keyPrefix: prefix, ttlMs: DAY, maxEvents: 3 });
    await store.accept(notice('P1', { orderDetailList: [notice('x').orderDetailList[1] as never] }));
    await store.recordUnitResult('P1', 0, { status: 'success' });
    await store.finalize('P1');
    await timeline.append('P1', { e: 'final', at: 1, outStatus: 200 });
    await store.markReported('P1');
    for (const jobId of ['r1', 'r2', 'r3'])
      await timeline.append('P1', { e: 'callback-replay', at: Date.now(), jobId });
    const events = await timeline.read('P1');
    expect(events.map((e) => (e.e === 'callback-replay' ? e.jobId : e.e))).toEqual([
      'final',
      'accepted',
      'r1',
      'r2',
    ]);
  });

  redisTest('records of the previous layouts are still read', async ({ redis, prefix }) => {
    const store = new OrderStore({ redis, keyPrefix: prefix, ttlMs: DAY });
    const timeline = new OrderTimeline({ redis, keyPrefix: prefix, ttlMs: DAY, maxEvents: 10 });
    const n = notice('O1', { orderDetailList: [notice('x').orderDetailList[1] as never] });
    const result = {
      orderViewId: 'O1',
      outStatus: 200,
      outDetailList: [{ slotNum: '02', skuCode: 'CHIPS', status: 200 }],
    };
    // reported before records shrank: the whole notice and the result
    await redis.hset(orderKeys(prefix, 'O1').record, {
      notice: JSON.stringify(n),
      fingerprint: fingerprint(n),
      state: 'reported',
      acceptedAt: '1000',
      machineCode: 'M001',
      result: JSON.stringify(result),
    });
    // reported and shrunk into a small hash (lines, paid)
    await redis.hset(orderKeys(prefix, 'O2').record, {
      state: 'reported',
      acceptedAt: '2000',
      machineCode: 'M001',
      fingerprint: fingerprint({ ...n, orderViewId: 'O2' }).slice(0, 32),
      lines: JSON.stringify([['02', 'CHIPS', 'F', 'jammed']]),
      paid: JSON.stringify(['1.99', '2.00', '0.01', 1, 1, 0]),
      callbackAttempts: '1',
    });
    // the timeline as objects and as arrays
    await redis.rpush(
      orderKeys(prefix, 'O2').timeline,
      JSON.stringify({ e: 'vend', at: 2100, unit: 0, vendId: 'O2-0', answer: 'failed: jammed' }),
      JSON.stringify(['c', 2200, 1, 'ok']),
      'not json',
      JSON.stringify(['?', 1]),
    );
    expect(await store.queryResult('O1')).toEqual(result);
    expect(await store.get('O1')).toMatchObject({ shape: 'reported', acceptedAt: 1000 });
    expect(await store.get('O2')).toMatchObject({
      shape: 'reported',
      notice: { actualAmount: '1.99', originAmount: '2.00', discountMoney: '0.01' },
      callback: { attempts: 1 },
    });
    expect((await store.finalResult('O2'))?.result?.outStatus).toBe(400);
    expect(await store.accept(n)).toEqual({ outcome: 'duplicate', state: 'reported' });
    expect(await store.accept({ ...n, orderViewId: 'O2' })).toEqual({
      outcome: 'duplicate',
      state: 'reported',
    });
    expect(await timeline.read('O2')).toEqual([
      { e: 'accepted', at: 2000 },
      { e: 'vend', at: 2100, unit: 0, vendId: 'O2-0', answer: 'failed: jammed' },
      { e: 'callback', at: 2200, attempt: 1, answer: 'ok' },
    ]);
  });

  redisTest('a record packed in the first form is still read and counted', async ({ redis, prefix }) => {
    const store = new OrderStore({ redis, keyPrefix: prefix, ttlMs: DAY });
    const timeline = new OrderTimeline({ redis, keyPrefix: prefix, ttlMs: DAY, maxEvents: 10 });
    const n = notice('V1', { orderDetailList: [notice('x').orderDetailList[1] as never] });
    const fp = Buffer.from(fingerprint(n).slice(0, 18), 'hex').toString('base64url');
    const [US, RS, GS] = ['\u001f', '\u001e', '\u001d'];
    // acceptedAt 1000, amounts, payment codes, finalAt +10, reportedAt +40 (from acceptedAt), 1 duplicate
    const header = ['rs', 'M001', '1.99', '2.00', '0.01', '110', 'a', '14', '', '', '', '1'].join(US);
    await redis.set(
      orderKeys(prefix, 'V1').record,
      `1${fp}${US}${header}${RS}02${US}CHIPS${US}S${GS}v5${GS}f1${GS}c2`,
    );
    expect(await store.get('V1')).toMatchObject({
      acceptedAt: 1000,
      finalAt: 1010,
      duplicates: 1,
      notice: { actualAmount: '1.99', originAmount: '2.00', discountMoney: '0.01', payMethod: 1 },
      callback: { reportedAt: 1040 },
      result: { outStatus: 200, outDetailList: [{ slotNum: '02', skuCode: 'CHIPS', status: 200 }] },
    });
    expect(await timeline.read('V1')).toEqual([
      { e: 'accepted', at: 1000 },
      { e: 'vend', at: 1005, unit: 0, vendId: 'V1-0', answer: 'success' },
      { e: 'final', at: 1006, outStatus: 200 },
      { e: 'callback', at: 1008, attempt: 1, answer: 'ok: owitho answered 200' },
    ]);
    expect(await store.accept(n)).toEqual({ outcome: 'duplicate', state: 'reported' });
    expect((await store.accept({ ...n, actualAmount: '9.99' })).outcome).toBe('conflict');
    expect(await store.get('V1')).toMatchObject({ duplicates: 2, conflicts: 1, finalAt: 1010 });
  });

  redisTest('a packed record that cannot be read is named, not misread', async ({ redis, prefix }) => {
    const store = new OrderStore({ redis, keyPrefix: prefix, ttlMs: DAY });
    const timeline = new OrderTimeline({ redis, keyPrefix: prefix, ttlMs: DAY, maxEvents: 10 });
    await redis.set(orderKeys(prefix, 'X1').record, '9 something else');
    await redis.set(orderKeys(prefix, 'X2').record, `1${'A'.repeat(12)}\u001f`);
    await expect(store.get('X1')).rejects.toThrow(
      /order X1: its packed record cannot be read \(unknown format/,
    );
    await expect(store.get('X2')).rejects.toThrow(PackedOrderError);
    await expect(store.queryResult('X2')).rejects.toThrow(/order X2/);
    expect(await timeline.read('X1')).toEqual([]);
  });
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
      await timeline.append('I1', { e: 'final', at: Date.now(), outStatus: 200 });
      expect((await timeline.read('I1')).map((e) => e.e)).toEqual(['accepted', 'final']);
      expect(await timeline.read('nope')).toEqual([]);
    },
  );
});

describe('accept bookkeeping in batches', () => {
  redisTest(
    'the notices booked in one turn share one call (256 at most), each as it would alone',
    async ({ redis, prefix }) => {
      const now = Date.now();
      const store = new OrderStore({ redis, keyPrefix: prefix, ttlMs: DAY, now: () => now });
      const timeline = new OrderTimeline({
        redis,
        keyPrefix: prefix,
        ttlMs: DAY,
        maxEvents: 10,
        now: () => now,
      });
      // 300 notices in one turn: created on two machines, then a duplicate of an order still
      // accepted (indexed again), a duplicate not to index and a conflict
      const booked = Array.from({ length: 300 }, (_, i) =>
        store.bookAccepted(
          { orderViewId: `N${i}`, machineCode: `M${i % 2}` },
          'created',
          true,
          now - 300 + i,
        ),
      );
      booked.push(
        store.bookAccepted({ orderViewId: 'N5', machineCode: 'M1' }, 'duplicate', true, now),
        store.bookAccepted({ orderViewId: 'N6', machineCode: 'M0' }, 'duplicate', false, now),
        store.bookAccepted({ orderViewId: 'N7', machineCode: 'M1' }, 'conflict', false, now),
      );
      expect(new Set(booked).size).toBe(2);
      expect(booked[255]).toBe(booked[0]);
      expect(booked[256]).not.toBe(booked[0]);
      await Promise.all(booked);
      expect(await store.stats()).toMatchObject({ accepted: 300, duplicates: 2, conflicts: 1 });
      expect(await store.openSince(now + 1, 1000)).toHaveLength(300);
      const found = await timeline.search({ machineCode: 'M1', limit: 1000 });
      expect(found).toHaveLength(150);
      // N5 indexed again by its duplicate: listed once, at its newest entry
      expect(found.slice(0, 2)).toEqual([
        { orderViewId: 'N5', acceptedAt: now },
        { orderViewId: 'N299', acceptedAt: now - 1 },
      ]);
      expect((await timeline.search({ limit: 1000 })).map((f) => f.orderViewId).slice(0, 3)).toEqual([
        'N5',
        'N299',
        'N298',
      ]);
      // a later turn makes a call of its own
      const later = store.bookAccepted({ orderViewId: 'L1', machineCode: 'M0' }, 'created', true, now);
      expect(booked).not.toContain(later);
      await later;
      expect(await store.stats()).toMatchObject({ accepted: 301 });
    },
  );
});

describe('the search logs', () => {
  const HOUR = 3_600_000;

  redisTest(
    'find orders by time and by machine, newest first, across hours and days, with the previous sorted sets',
    async ({ redis, prefix }) => {
      const now = Date.now();
      const store = new OrderStore({ redis, keyPrefix: prefix, ttlMs: 30 * DAY, now: () => now });
      const timeline = new OrderTimeline({
        redis,
        keyPrefix: prefix,
        ttlMs: 30 * DAY,
        maxEvents: 10,
        now: () => now,
      });
      const orders = [
        ['Q1', 'M001', now - 3 * DAY],
        ['Q2', 'M002', now - 2 * DAY - HOUR],
        ['Q3', 'M001', now - 5 * HOUR],
        ['Q4 with: spaces', 'M:1', now - 2 * HOUR],
        ['Q5', 'M001', now - 1000],
        ['Q6', 'M001', now - 31 * DAY],
      ] as const;
      for (const [orderViewId, machineCode, at] of orders)
        await store.bookAccepted({ orderViewId, machineCode }, 'created', true, at);
      // a duplicate notice of an order still accepted indexes it again: listed once
      await store.bookAccepted({ orderViewId: 'Q5', machineCode: 'M001' }, 'duplicate', true, now - 500);
      // an order indexed by the previous layout (a sorted set), and an entry that cannot be read
      await redis.zadd(indexKeys(prefix).byTime, now - 4 * HOUR, 'OLD1');
      await redis.zadd(machineIndexKey(prefix, 'M001'), now - 4 * HOUR, 'OLD1');
      await redis.append(hourLogKey(prefix, Math.floor(now / HOUR)), 'zz\u001e');
      const ids = async (query: Omit<OrderSearch, 'limit'>, limit = 10) =>
        (await timeline.search({ ...query, limit })).map((f) => f.orderViewId);

      expect(await ids({})).toEqual(['Q5', 'Q4 with: spaces', 'OLD1', 'Q3', 'Q2', 'Q1']);
      expect(await ids({ machineCode: 'M001' })).toEqual(['Q5', 'OLD1', 'Q3', 'Q1']);
      expect(await ids({ machineCode: 'M:1' })).toEqual(['Q4 with: spaces']);
      expect(await ids({ since: now - 3 * DAY, until: now - 5 * HOUR })).toEqual(['Q3', 'Q2', 'Q1']);
      expect(await ids({ machineCode: 'M001', since: now - 3 * DAY + 1 })).toEqual(['Q5', 'OLD1', 'Q3']);
      expect(await ids({}, 2)).toEqual(['Q5', 'Q4 with: spaces']);
      expect(await timeline.search({ machineCode: 'M002', limit: 10 })).toEqual([
        { orderViewId: 'Q2', acceptedAt: now - 2 * DAY - HOUR },
      ]);

      // each log expires ORDER_TTL_MS after its bucket ends
      const hour = Math.floor((now - 5 * HOUR) / HOUR);
      const hourLog = hourLogKey(prefix, hour);
      expect(Number(await redis.call('PEXPIRETIME', hourLog))).toBe((hour + 1) * HOUR + 30 * DAY);
      // a few bytes per order: its offset in the hour, its id and the end mark; the machine's day
      // log refers to that entry in 7 bytes, whatever the id's length
      expect(await redis.strlen(hourLog)).toBe(5 + 'Q3'.length + 1);
      const day = Math.floor((now - 3 * DAY) / DAY);
      expect(await redis.strlen(machineDayLogKey(prefix, day, 'M001'))).toBe(7);
      expect(Number(await redis.call('PEXPIRETIME', machineDayLogKey(prefix, day, 'M001')))).toBe(
        (day + 1) * DAY + 30 * DAY,
      );
      // a reference whose hour log is gone (expired first) is left out
      await redis.del(hourLogKey(prefix, Math.floor((now - 3 * DAY) / HOUR)));
      expect(await ids({ machineCode: 'M001' })).toEqual(['Q5', 'OLD1', 'Q3']);
    },
  );
  redisTest(
    'a finished log is written again at its exact size, late entries included',
    async ({ redis, prefix }) => {
      const hour = Math.floor(Date.now() / HOUR) - 2;
      const store = new OrderStore({ redis, keyPrefix: prefix, ttlMs: DAY });
      const book = (id: string, at: number) =>
        store.bookAccepted({ orderViewId: id, machineCode: 'M1' }, 'created', true, at);
      const log = hourLogKey(prefix, hour);
      const spare = async () =>
        Number(await redis.call('MEMORY', 'USAGE', log, 'SAMPLES', '0')) - (await redis.strlen(log));
      // a large hour log, grown by appends (Redis keeps spare room in a large string it appends to)
      await book('A0', hour * HOUR);
      const chunk = Array.from({ length: 1000 }, (_, i) => `00001A${i}\u001e`).join('');
      for (let i = 0; i < 40; i++) await redis.append(log, chunk);
      const grown = await spare();
      expect(grown).toBeGreaterThan(20_000);
      // the next hour's first entry: the log is written at its exact size
      await book('B0', (hour + 1) * HOUR);
      expect(await spare()).toBeLessThan(grown / 4);
      // an entry computed just before the hour turned, written after the next hour's log began
      await book('LATE', (hour + 1) * HOUR - 1);
      const late = await spare();
      expect(late).toBeGreaterThan(20_000);
      // once the next hour's log has grown past 4 KB the log is written at its exact size again
      for (let i = 1; (await redis.strlen(hourLogKey(prefix, hour + 1))) < 4096; i++)
        await book(`B${i}`, (hour + 1) * HOUR + i);
      expect(await spare()).toBeLessThan(late / 4);
      const timeline = new OrderTimeline({ redis, keyPrefix: prefix, ttlMs: DAY, maxEvents: 10 });
      expect(await timeline.search({ until: (hour + 1) * HOUR - 1, limit: 1 })).toEqual([
        { orderViewId: 'LATE', acceptedAt: (hour + 1) * HOUR - 1 },
      ]);
    },
  );
});

describe('the order timeline', () => {
  redisTest(
    'keeps events compact, reads the older object form, and caps the list',
    async ({ redis, prefix }) => {
      const timeline = new OrderTimeline({ redis, keyPrefix: prefix, ttlMs: DAY, maxEvents: 4 });
      const key = orderKeys(prefix, 'T1').timeline;
      // written by an older version (with the list's expiry, as it always set it)
      await redis.rpush(key, JSON.stringify({ e: 'accepted', at: 1 }));
      await redis.pexpire(key, DAY);
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

describe('the packed form', () => {
  redisTest(
    'keeps what the order pages show, for generated orders and timelines',
    async ({ redis, prefix }) => {
      // a small deterministic generator: the same orders every run
      let seed = 7;
      const next = (n: number) => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed % n;
      };
      const pick = <T>(items: readonly T[]): T => items[next(items.length)] as T;
      const texts = [
        'success',
        'failed: jammed',
        'ok: owitho answered 200',
        '',
        '!',
        '!x',
        '=y',
        'a\u0001b',
        'é 🍫',
      ];
      const store = new OrderStore({ redis, keyPrefix: prefix, ttlMs: DAY });
      const timeline = new OrderTimeline({ redis, keyPrefix: prefix, ttlMs: DAY, maxEvents: 100 });
      for (let o = 0; o < 40; o++) {
        const id = `G${o}`;
        const lines = Array.from({ length: 1 + next(3) }, (_, i) => ({
          skuCode: pick(['COLA', 'CHIPS', 'SKU 1']),
          slotNum: pick(['01', '02', `${i}`]),
          quantity: 1 + next(3),
          originalPrice: '2.00',
          actualPrice: '2.00',
        }));
        const total = lines.reduce((n, l) => n + l.quantity, 0);
        const amount = `${2 * total}.00`;
        await store.accept(
          sampleNotice(id, {
            orderDetailList: lines,
            actualAmount: amount,
            originAmount: amount,
            discountMoney: '0.00',
            payMethod: pick([1, 2, 12]),
          }),
        );
        const acceptedAt = (await store.get(id))?.acceptedAt ?? 0;
        for (let unit = 0; unit < total; unit++)
          await store.recordUnitResult(
            id,
            unit,
            next(3) === 0
              ? { status: 'failed', reason: pick(['jammed', '', '!', 'x\u0002y']) }
              : { status: 'success' },
          );
        await store.finalize(id);
        const events: TimelineEvent[] = [];
        for (let e = 0; e < next(8); e++) {
          const at = acceptedAt + next(200_000) - 50_000;
          const unit = next(total);
          events.push(
            pick([
              { e: 'vend', at, unit, vendId: next(4) === 0 ? 'other' : `${id}-${unit}`, answer: pick(texts) },
              { e: 'final', at, outStatus: pick([200, 300, 400]) },
              { e: 'callback', at, attempt: 1 + next(3), answer: pick(texts) },
              { e: 'callback-replay', at, jobId: `cb-${id}-replay-${e}` },
            ] as const),
          );
        }
        await timeline.append(id, ...events.slice(0, 3));
        await timeline.append(id, ...events.slice(3));
        const before = { record: await store.get(id), timeline: await timeline.read(id) };
        await store.markReported(id);
        expect(await redis.type(orderKeys(prefix, id).record)).toBe('string');
        // control characters become spaces (Lua's %c: 0-31 and 127)
        const clean = (text: string) =>
          [...text].map((c) => (c.charCodeAt(0) < 32 || c.charCodeAt(0) === 127 ? ' ' : c)).join('');
        const expected = before.timeline.map((e) =>
          e.e === 'vend' || e.e === 'callback' ? { ...e, answer: clean(e.answer) } : e,
        );
        expect(await timeline.read(id)).toEqual(expected);
        const after = await store.get(id);
        expect(after?.result).toEqual(before.record?.result);
        expect(after?.units).toEqual(
          before.record?.units.map(({ index, vendId, slotNum, skuCode }) => ({
            index,
            vendId,
            slotNum,
            skuCode,
          })),
        );
        for (const [index, state] of before.record?.unitStates ?? [])
          if (state.s === 'failed')
            expect(after?.unitStates.get(index)).toMatchObject({ s: 'failed', reason: clean(state.reason) });
        expect(after?.notice.payMethod).toBe(before.record?.notice.payMethod);
        expect(after?.notice.actualAmount).toBe(before.record?.notice.actualAmount);
      }
    },
  );
});
