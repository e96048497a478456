import { expect } from 'vitest';
import { startRedisServer } from './kit/redis-server.js';
import { deleteKeysWithPrefix, redisTest } from './redis-fixture.js';

redisTest('hands out a live Redis and a prefix no other test has', async ({ redis, prefix }) => {
  expect(prefix).toMatch(/^t-[0-9a-f]{8}$/);
  await redis.set(`${prefix}:k`, 'v');
  expect(await redis.get(`${prefix}:k`)).toBe('v');
});

redisTest('deleteKeysWithPrefix removes only that prefix', async ({ redis, prefix }) => {
  await redis.mset(`${prefix}:a`, '1', `${prefix}:b`, '2', `${prefix}x:other`, '3');
  expect(await deleteKeysWithPrefix(redis, `${prefix}:`)).toBe(2);
  expect(await redis.get(`${prefix}x:other`)).toBe('3');
});

redisTest('starts a private redis-server on a free port and stops it', async () => {
  const server = await startRedisServer();
  const { Redis } = await import('ioredis');
  const client = new Redis(server.url);
  expect(await client.ping()).toBe('PONG');
  client.disconnect();
  await server.stop();
});
