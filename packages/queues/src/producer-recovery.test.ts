import { redisTest, TcpSwitch } from '@owc/testing';
import { Redis } from 'ioredis';
import { describe, expect } from 'vitest';
import { createProducer } from './producer.js';

describe('producer recovery', () => {
  redisTest(
    'a queue whose first use meets a Redis that does not answer in time is rebuilt on the next enqueue',
    async ({ redisUrl, prefix }) => {
      const link = await TcpSwitch.start(redisUrl);
      // the ingress's producer connection: fails fast instead of queueing while Redis is away
      const connection = new Redis(link.url, {
        maxRetriesPerRequest: 1,
        enableOfflineQueue: false,
        commandTimeout: 300,
      });
      await new Promise((resolve) => connection.once('ready', resolve));
      const producer = createProducer(connection, { keyPrefix: prefix });
      try {
        await link.set('stall');
        // the queue's first use (BullMQ's INFO version check, then the add) times out
        await expect(producer.enqueue('machine.restocked', { machineCode: 'M1' })).rejects.toThrow(
          /timed out/i,
        );
        await link.set('pass');
        // the late replies of the timed-out commands must not poison what follows
        const { id } = await producer.enqueue('machine.restocked', { machineCode: 'M2' });
        expect(id).toBeTruthy();
        expect(await producer.queue('machine-sync').count()).toBeGreaterThanOrEqual(1);
      } finally {
        await producer.close();
        connection.disconnect();
        await link.close();
      }
    },
  );
});
