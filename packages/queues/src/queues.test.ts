import { redisTest, skuOf, waitFor } from '@owc/testing';
import { Queue, type Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect } from 'vitest';
import { createConsumer } from './consumer.js';
import { InvalidJobError } from './errors/invalid-job-error.js';
import { queuePrefix } from './names.js';
import { createProducer } from './producer.js';

/** the kit's sample SKU under a short code the assertions read */
const sku = (code: string, price = '2.50') => ({ ...skuOf(1), skuCode: code, originalPrice: price });

describe('producer and consumer', () => {
  redisTest(
    'the producer validates before it writes: a bad payload leaves no job',
    async ({ redisUrl, prefix }) => {
      const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
      const producer = createProducer(connection, { keyPrefix: prefix });
      await expect(producer.enqueue('sku.upsert', { skus: [sku('A', '10.555')] })).rejects.toThrow(
        /skus\.0\.originalPrice/,
      );
      await expect(producer.enqueue('sku.upsert', { skus: [sku('A', '10.555')] })).rejects.toBeInstanceOf(
        InvalidJobError,
      );
      expect(await producer.queue('sku-sync').count()).toBe(0);
      const { id } = await producer.enqueue('sku.upsert', { sku: sku('A') });
      expect(id).toBeTruthy();
      expect(await producer.queue('sku-sync').count()).toBe(1);
      const keys = await connection.keys(`${queuePrefix(prefix, 'sku-sync')}:*`);
      expect(keys.length).toBeGreaterThan(0);
      expect(keys.every((k) => k.startsWith(`${prefix}:{sku-sync}:`))).toBe(true);
      await producer.close();
      connection.disconnect();
    },
  );

  redisTest(
    'the consumer fails an invalid job at once with the field named, and processes the next one',
    async ({ redisUrl, prefix }) => {
      const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
      // another system writing straight into the queue, bypassing our producer
      const raw = new Queue('machine-sync', { connection, prefix: queuePrefix(prefix, 'machine-sync') });
      await raw.add('machine.restocked', { containerCode: '01' }, { attempts: 5 });
      await raw.add('machine.teleported', { machineCode: 'M1' }, { attempts: 5 });
      await raw.add('machine.restocked', { machineCode: 'M001' });
      const seen: string[] = [];
      const worker: Worker = createConsumer(
        'machine-sync',
        {
          'machine.restocked': async (payload) => {
            seen.push(payload.machineCode);
          },
        },
        { connection, keyPrefix: prefix, concurrency: 1 },
      );
      await waitFor(async () => seen.length === 1 && (await raw.getFailedCount()) === 2);
      const failed = await raw.getFailed();
      const reasons = failed.map((j) => j.failedReason).sort();
      expect(reasons[0]).toMatch(/invalid machine.restocked job: machineCode/);
      expect(reasons[1]).toMatch(/no handler for job name "machine.teleported"/);
      expect(failed.every((j) => j.attemptsMade === 1)).toBe(true);
      expect(seen).toEqual(['M001']);
      await worker.close();
      await raw.close();
      connection.disconnect();
    },
  );

  redisTest(
    'jobs others enqueue are read tolerantly: "10.5", 10.5 and "10" reach the handler as wire money',
    async ({ redisUrl, prefix }) => {
      const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
      const producer = createProducer(connection, { keyPrefix: prefix });
      const { id } = await producer.enqueue('sku.upsert', { sku: { ...sku('P'), originalPrice: 10.5 } });
      const stored = await producer.queue('sku-sync').getJob(id);
      expect(stored?.data).toMatchObject({ sku: { originalPrice: '10.50' } });
      const raw = new Queue('sku-sync', { connection, prefix: queuePrefix(prefix, 'sku-sync') });
      await raw.add('sku.upsert', { sku: sku('A', '10.5') });
      await raw.add('sku.upsert', { sku: { ...sku('B'), originalPrice: 10.5, purchasePrice: '10' } });
      await raw.add('sku.upsert', { sku: sku('C', '-1') }, { attempts: 5 });
      const seen: string[] = [];
      const worker: Worker = createConsumer(
        'sku-sync',
        {
          'sku.upsert': async (payload) => {
            if ('sku' in payload)
              seen.push(
                `${payload.sku.skuCode} ${payload.sku.originalPrice} ${payload.sku.purchasePrice ?? '-'}`,
              );
          },
        },
        { connection, keyPrefix: prefix, concurrency: 1 },
      );
      await waitFor(async () => seen.length === 3 && (await raw.getFailedCount()) === 1);
      expect(seen.sort()).toEqual(['A 10.50 -', 'B 10.50 10.00', 'P 10.50 -']);
      const [failed] = await raw.getFailed();
      expect(failed?.failedReason).toMatch(
        /invalid sku.upsert job: sku\.originalPrice: must not be negative/,
      );
      await worker.close();
      await raw.close();
      await producer.close();
      connection.disconnect();
    },
  );
});
