import { randomUUID } from 'node:crypto';
import { createLogger, type Logger } from '@owc/observability';
import { TokenKeeper } from '@owc/token';
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const APP = { appId: 'bench-app', secretKey: 'bench-secret' };
export const quiet: Logger = createLogger({ level: 'warn', name: 'bench' });

/** A fresh key prefix, and a function that deletes everything under it. */
export function benchPrefix(name: string): { prefix: string; cleanup(): Promise<void> } {
  const prefix = `bench-${name}-${randomUUID().slice(0, 8)}`;
  return {
    prefix,
    async cleanup() {
      const redis = new Redis(REDIS_URL);
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await redis.unlink(...keys);
      } while (cursor !== '0');
      redis.disconnect();
    },
  };
}

/** Puts a fixed access token where every pod of this prefix reads it. */
export async function seedToken(prefix: string, token = 'bench-token'): Promise<string> {
  const redis = new Redis(REDIS_URL);
  const keeper = new TokenKeeper({
    redis,
    keyPrefix: prefix,
    fetchToken: async () => ({ accessToken: token, expireTime: Date.now() + 24 * 3600_000 }),
    overlapMs: 60_000,
    refreshMarginMs: 60_000,
    dailyQuota: 10,
    quotaWarnShare: 0.8,
    cacheMs: 0,
  });
  await keeper.currentToken();
  redis.disconnect();
  return token;
}
