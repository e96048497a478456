import { connect, createServer, type Server, type Socket } from 'node:net';
import { redisTest } from '@owc/testing';
import { Redis } from 'ioredis';
import { describe, expect } from 'vitest';
import { createProducer } from './producer.js';

/** A TCP relay to Redis that holds Redis's replies back while `mute` is on (a stalled Redis). */
async function mutableRelay(
  redisUrl: string,
): Promise<{ url: string; mute(on: boolean): void; close(): Promise<void> }> {
  const target = new URL(redisUrl);
  let muted = false;
  const held: (() => void)[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port || 6379), target.hostname);
    sockets.add(client).add(upstream);
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d) => {
      if (muted) held.push(() => client.write(d));
      else client.write(d);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const db = target.pathname.replace('/', '') || '0';
  return {
    url: `redis://127.0.0.1:${port}/${db}`,
    mute(on) {
      muted = on;
      if (!on) for (const flush of held.splice(0)) flush();
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('producer recovery', () => {
  redisTest(
    'a queue whose first use meets a Redis that does not answer in time is rebuilt on the next enqueue',
    async ({ redisUrl, prefix }) => {
      const relay = await mutableRelay(redisUrl);
      // the ingress's producer connection: fails fast instead of queueing while Redis is away
      const connection = new Redis(relay.url, {
        maxRetriesPerRequest: 1,
        enableOfflineQueue: false,
        commandTimeout: 300,
      });
      await new Promise((resolve) => connection.once('ready', resolve));
      const producer = createProducer(connection, { keyPrefix: prefix });
      try {
        relay.mute(true);
        // the queue's first use (BullMQ's INFO version check, then the add) times out
        await expect(producer.enqueue('machine.restocked', { machineCode: 'M1' })).rejects.toThrow(
          /timed out/i,
        );
        relay.mute(false);
        // a late reply of the timed-out commands must not poison what follows
        const { id } = await producer.enqueue('machine.restocked', { machineCode: 'M2' });
        expect(id).toBeTruthy();
        expect(await producer.queue('machine-sync').count()).toBeGreaterThanOrEqual(1);
      } finally {
        await producer.close();
        connection.disconnect();
        await relay.close();
      }
    },
  );
});
