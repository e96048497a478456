import { redisTest } from '@owc/testing';
import type { Redis } from 'ioredis';
import { describe, expect, vi } from 'vitest';
import { closeRedis, createRedis } from './connection.js';

async function ready(redis: Redis): Promise<void> {
  if (redis.status !== 'ready') await new Promise<void>((resolve) => redis.once('ready', () => resolve()));
}

describe('createRedis', () => {
  redisTest(
    'a producer connection writes the commands of one loop turn in one socket write, and answers each',
    async ({ redisUrl, prefix }) => {
      const redis = createRedis({ url: redisUrl }, 'producer') as Redis;
      try {
        await ready(redis);
        const socket = redis.stream;
        const writev = vi.spyOn(socket as unknown as { _writev: (chunks: unknown[]) => void }, '_writev');
        const answers = Promise.all([
          redis.set(`${prefix}:a`, '1'),
          redis.incr(`${prefix}:n`),
          redis.get(`${prefix}:a`),
        ]);
        // held until the loop's check phase, then written together
        expect(socket.writableCorked).toBe(1);
        expect(await answers).toEqual(['OK', 1, '1']);
        expect(socket.writableCorked).toBe(0);
        expect(writev).toHaveBeenCalledTimes(1);
        expect(writev.mock.calls[0]?.[0]).toHaveLength(3);
        // a command of a later turn is not held behind an earlier one
        expect(await redis.incr(`${prefix}:n`)).toBe(2);
      } finally {
        await closeRedis(redis);
      }
    },
  );

  redisTest('a worker connection writes each command as it is given', async ({ redisUrl, prefix }) => {
    const redis = createRedis({ url: redisUrl }, 'worker') as Redis;
    try {
      await ready(redis);
      const pending = redis.set(`${prefix}:w`, '1');
      expect(redis.stream.writableCorked).toBe(0);
      expect(await pending).toBe('OK');
    } finally {
      await closeRedis(redis);
    }
  });
});
