import { OrderStore, OrderTimeline } from '@owc/order-store';
import type { OrderNotice } from '@owc/protocol';
import {
  ApiKeyStore,
  CALLBACK_BACKOFF,
  CALLBACK_MAX_ATTEMPTS,
  callbackJobId,
  createProducer,
  dispenseJobId,
} from '@owc/queues';
import { redisTest, sampleNotice, silentLogger } from '@owc/testing';
import { describe, expect } from 'vitest';
import { SkuBuffer } from '../sync/sku-buffer.js';
import { type CliDeps, runCliCommand, UsageError } from './cli-commands.js';

/** one unit of COLA at 2.00 on slot 01 of M001 */
const notice = (id: string, overrides: Partial<OrderNotice> = {}): OrderNotice =>
  sampleNotice(id, {
    orderDetailList: [
      { skuCode: 'COLA', slotNum: '01', quantity: 1, originalPrice: '2.00', actualPrice: '2.00' },
    ],
    ...overrides,
  });

describe('cli commands', () => {
  redisTest(
    'orders:stuck lists, orders:repair re-creates jobs, order:show tells all',
    async ({ redis, prefix }) => {
      const store = new OrderStore({ redis, keyPrefix: prefix, ttlMs: 3600_000 });
      const producer = createProducer(redis, { keyPrefix: prefix });
      const lines: string[] = [];
      const deps: CliDeps = {
        store,
        producer,
        keys: new ApiKeyStore(redis, prefix),
        stuckAfterMs: 60_000,
        logger: silentLogger('cli-test'),
        out: (line) => lines.push(line),
      };
      const old = Date.now() - 120_000;
      await store.accept(notice('K1'));
      await store.indexAccepted('K1', old);
      await store.accept(notice('K2:x'));
      await store.indexAccepted('K2:x', old);
      await store.recordUnitResult('K2:x', 0, { status: 'success' });
      await store.finalize('K2:x');
      await store.accept(notice('K3')); // recent: not stuck
      await store.indexAccepted('K3');

      expect(await runCliCommand(deps, ['orders:stuck'])).toBe(0);
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^K1\taccepted\tmachine M001\tage \d+s\tdispense job K1: missing$/);
      expect(lines[1]).toMatch(/^K2:x\tfinal\t.*callback job cb-K2%3Ax: missing$/);

      lines.length = 0;
      expect(await runCliCommand(deps, ['orders:repair'])).toBe(0);
      expect(lines).toEqual([
        `K1\tdispensing\tenqueued\tjob ${dispenseJobId('K1')}`,
        `K2:x\tunreported\tenqueued\tjob ${callbackJobId('K2:x')}`,
        '2 stuck, 2 repaired',
      ]);
      expect(await producer.queue('dispense').getJob('K1')).toBeDefined();
      const cb = await producer.queue('callback').getJob('cb-K2%3Ax');
      // the catalog's options: the named backoff the callback worker serves from its schedule
      expect(cb?.opts).toMatchObject({
        attempts: CALLBACK_MAX_ATTEMPTS,
        backoff: { type: CALLBACK_BACKOFF },
      });
      lines.length = 0;
      await runCliCommand(deps, ['orders:repair']);
      expect(lines).toEqual(['2 stuck, 0 repaired']);

      lines.length = 0;
      expect(await runCliCommand(deps, ['order:show', 'K2:x'])).toBe(0);
      const shown = JSON.parse(lines.join('\n'));
      expect(shown).toMatchObject({
        orderViewId: 'K2:x',
        state: 'final',
        result: { outStatus: 200 },
        units: [{ vendId: 'K2:x-0', state: { s: 'success' } }],
        jobs: { 'callback:cb-K2%3Ax': 'waiting' },
      });

      lines.length = 0;
      expect(await runCliCommand(deps, ['callback:replay', 'K1'])).toBe(1);
      expect(lines[0]).toMatch(/not final yet/);
      expect(await runCliCommand(deps, ['order:show', 'nope'])).toBe(1);
      await expect(runCliCommand(deps, ['orders:explode'])).rejects.toBeInstanceOf(UsageError);
      await expect(runCliCommand(deps, ['callback:replay'])).rejects.toThrow(/needs an orderViewId/);
      await expect(runCliCommand(deps, ['orders:stuck', '--older-than-ms', 'x'])).rejects.toThrow(
        /whole number/,
      );
      await producer.close();
    },
  );

  redisTest('keys:create, keys:list and keys:revoke manage API keys', async ({ redis, prefix }) => {
    const keys = new ApiKeyStore(redis, prefix);
    const lines: string[] = [];
    const deps: CliDeps = {
      store: new OrderStore({ redis, keyPrefix: prefix, ttlMs: 3600_000 }),
      producer: createProducer(redis, { keyPrefix: prefix }),
      keys,
      stuckAfterMs: 60_000,
      logger: silentLogger('cli-test'),
      out: (line) => lines.push(line),
    };
    expect(await runCliCommand(deps, ['keys:create', 'erp', 'sku.upsert,machine.layout'])).toBe(0);
    const id = /^key ([0-9a-f]{8}) for erp \(jobs: sku\.upsert, machine\.layout\)/.exec(lines[0] ?? '')?.[1];
    expect(id).toBeDefined();
    const key = lines[1] ?? '';
    expect(await keys.verify(key)).toMatchObject({ id, system: 'erp' });
    await expect(runCliCommand(deps, ['keys:create', 'erp', 'order.dispense'])).rejects.toThrow(
      /not a public job/,
    );

    lines.length = 0;
    expect(await runCliCommand(deps, ['keys:list'])).toBe(0);
    expect(lines).toHaveLength(1);
    expect(lines[0]?.split('\t')).toEqual([
      id,
      'erp',
      'sku.upsert,machine.layout',
      expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
    ]);
    expect(lines.join('')).not.toContain(key);

    lines.length = 0;
    expect(await runCliCommand(deps, ['keys:revoke', String(id)])).toBe(0);
    expect(lines).toEqual([`revoked ${id} (erp)`]);
    expect(await keys.verify(key)).toBeUndefined();
    expect(await runCliCommand(deps, ['keys:revoke', 'erp'])).toBe(1);
    await deps.producer.close();
  });

  redisTest(
    'orders:list filters by machine, state and time; dead callbacks and dead sku batches are listed and replayed',
    async ({ redis, prefix }) => {
      const store = new OrderStore({ redis, keyPrefix: prefix, ttlMs: 3600_000 });
      const timeline = new OrderTimeline({ redis, keyPrefix: prefix, ttlMs: 3600_000, maxEvents: 10 });
      const skuBuffer = new SkuBuffer({ redis, keyPrefix: prefix });
      const producer = createProducer(redis, { keyPrefix: prefix });
      const lines: string[] = [];
      const deps: CliDeps = {
        store,
        producer,
        keys: new ApiKeyStore(redis, prefix),
        timeline,
        skuBuffer,
        stuckAfterMs: 60_000,
        logger: silentLogger(),
        out: (line) => lines.push(line),
      };
      // recent: the indexes keep ORDER_TTL_MS (here an hour)
      const t0 = Math.floor(Date.now() / 1000) * 1000 - 600_000;
      const at = (ms: number) => new Date(ms).toISOString();
      for (const [id, machineCode, at] of [
        ['L1', 'M001', t0],
        ['L2', 'M002', t0 + 60_000],
        ['L3', 'M001', t0 + 120_000],
      ] as const) {
        await store.accept(notice(id, { machineCode }));
        await store.bookAccepted({ orderViewId: id, machineCode }, 'created', true, at);
      }
      await store.recordUnitResult('L3', 0, { status: 'success' });
      await store.finalize('L3');
      await store.markDead('L3', 'permanent: 50002');

      expect(await runCliCommand(deps, ['orders:list', '--machine', 'M001'])).toBe(0);
      expect(lines.map((l) => l.split('\t').slice(0, 4))).toEqual([
        ['L3', at(t0 + 120_000), 'M001', 'dead'],
        ['L1', at(t0), 'M001', 'accepted'],
      ]);
      lines.length = 0;
      await runCliCommand(deps, ['orders:list', '--state', 'accepted', '--since', at(t0 + 30_000)]);
      expect(lines.map((l) => l.split('\t')[0])).toEqual(['L2']);
      // a record that cannot be read is listed as such
      lines.length = 0;
      await redis.set(`${prefix}:{order:L2}:record`, 'not a record');
      await runCliCommand(deps, ['orders:list', '--since', at(t0 + 30_000)]);
      expect(lines.map((l) => l.split('\t').slice(0, 4))).toEqual([
        ['L3', at(t0 + 120_000), 'M001', 'dead'],
        ['L2', at(t0 + 60_000), '', 'unreadable'],
      ]);
      await expect(runCliCommand(deps, ['orders:list', '--since', 'yesterday'])).rejects.toThrow(/ISO time/);
      await expect(runCliCommand(deps, ['orders:list', '--state', 'lost'])).rejects.toThrow(
        /--state is one of/,
      );

      lines.length = 0;
      await runCliCommand(deps, ['callbacks:dead']);
      expect(lines).toEqual([expect.stringMatching(/^L3\tdead \d{4}-.*Z\tpermanent: 50002$/)]);

      const sku = {
        skuCode: 'S1',
        skuName: 'Cola',
        skuUnit: 'can',
        skuSpec: '330ml',
        originalPrice: '2.50',
        skuPic: 'https://img.example.com/c.png',
      };
      await skuBuffer.upsert([{ skuCode: 'S1', json: JSON.stringify(sku) }], 1);
      const taken = await skuBuffer.take({ maxBatch: 10, maxWaitMs: 0, leaseMs: 60_000 });
      const batchId = taken.batch?.id ?? '';
      expect(await skuBuffer.deadLetter(batchId, 'permanent: 40000 bad sku')).toBe(true);
      lines.length = 0;
      await runCliCommand(deps, ['skus:dead']);
      expect(lines).toEqual([
        expect.stringMatching(new RegExp(`^${batchId}\t.*Z\tpermanent: 40000 bad sku\tS1$`)),
      ]);
      lines.length = 0;
      expect(await runCliCommand(deps, ['skus:replay', batchId])).toBe(0);
      expect(lines).toEqual([
        `batch ${batchId}: 1 skus back in the buffer at their own versions (S1); a worker with the sync role sends them`,
      ]);
      const replayed = await skuBuffer.take({ maxBatch: 10, maxWaitMs: 0, leaseMs: 60_000 });
      expect(replayed.batch?.entries).toEqual([{ skuCode: 'S1', json: JSON.stringify(sku), version: 1 }]);
      expect(await producer.queue('sku-sync').count()).toBe(0);
      // S1 changes again and is synced: replaying the dead batch now must not bring the old S1 back
      if (!replayed.batch) throw new Error('expected the replayed batch');
      expect(await skuBuffer.ack(replayed.batch.id, replayed.batch.entries)).toBe(true);
      const newer = { ...sku, skuName: 'Cola Zero' };
      await skuBuffer.upsert([{ skuCode: 'S1', json: JSON.stringify(newer) }], 2);
      const synced = await skuBuffer.take({ maxBatch: 10, maxWaitMs: 0, leaseMs: 60_000 });
      expect(synced.batch && (await skuBuffer.ack(synced.batch.id, synced.batch.entries))).toBe(true);
      lines.length = 0;
      expect(await runCliCommand(deps, ['skus:replay', batchId])).toBe(0);
      expect(lines).toEqual([
        `batch ${batchId}: 0 skus back in the buffer at their own versions`,
        'skipped 1, a newer change was accepted since: S1',
      ]);
      expect((await skuBuffer.stats()).pending).toBe(0);
      expect(await runCliCommand(deps, ['skus:replay', 'no-such-batch'])).toBe(1);
      await producer.close();
    },
  );
});
