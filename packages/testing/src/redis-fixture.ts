import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { inject, test } from 'vitest';
import type {} from './global-setup.js';
import { acquireRedis, type StartedRedis } from './kit/redis-server.js';

/** Deletes every key that starts with `prefix` (SCAN + UNLINK, safe on a shared Redis). */
export async function deleteKeysWithPrefix(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${escapeGlob(prefix)}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/** A key prefix no other test uses: `t-<8 hex>`. */
export function uniquePrefix(): string {
  return `t-${randomUUID().slice(0, 8)}`;
}

export interface RedisFixtures {
  /** The URL of the Redis the tests use (the same for every test of a worker). */
  redisUrl: string;
  /** A unique key prefix for this test; every key under it is deleted after the test. */
  prefix: string;
  /** A connection to that Redis, closed after the test. */
  redis: Redis;
}

interface WorkerFixtures {
  redisServer: StartedRedis;
}

/**
 * `redisTest('…', async ({ redis, prefix, redisUrl }) => …)`: a real Redis per test file
 * worker, a fresh prefix per test, and cleanup of that prefix afterwards.
 */
export const redisTest = test.extend<RedisFixtures & WorkerFixtures>({
  redisServer: [
    // biome-ignore lint/correctness/noEmptyPattern: vitest fixtures take their dependencies by destructuring
    async ({}, use) => {
      // the test run's REDIS_URL, read and validated once at boot (global-setup.ts)
      const server = await acquireRedis(inject('redisUrl'));
      await use(server);
      await server.stop();
    },
    { scope: 'worker' },
  ],
  redisUrl: async ({ redisServer }, use) => {
    await use(redisServer.url);
  },
  prefix: async ({ redisUrl }, use) => {
    const prefix = uniquePrefix();
    await use(prefix);
    const cleaner = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    try {
      await deleteKeysWithPrefix(cleaner, prefix);
    } finally {
      cleaner.disconnect();
    }
  },
  redis: async ({ redisUrl }, use) => {
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
    await use(redis);
    redis.disconnect();
  },
});
