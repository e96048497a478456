import { createHmac } from 'node:crypto';
import type { RedisClient } from '@owc/redis';
import { type FetchBackoffSettings, fetchBackoffMs } from './fetch-backoff.js';

/** How the deployment's token fetches are going, shared by every pod (one Redis hash). */
export interface TokenHealth {
  /** consecutive failed fetches (0 after a success) */
  failures: number;
  /** no fetch before this time (epoch ms; 0 = none pending) */
  retryAt: number;
  /** set when owitho refused our credentials (40001/40002/40003 on getAccessToken): a retry cannot fix it */
  misconfiguration?: string;
  lastError?: string;
  /** fingerprint of the credentials the last failure was made with */
  credentials?: string;
}

/**
 * A short, one-way fingerprint of the credentials (an HMAC keyed by the secret, 48 bits): lets a
 * pod started with corrected credentials skip a cooldown earned by wrong ones, without the secret
 * ever being written anywhere.
 */
export function credentialsFingerprint(appId: string, secretKey: string): string {
  return createHmac('sha256', secretKey)
    .update(`owc token credentials of ${appId}`)
    .digest('hex')
    .slice(0, 12);
}

/**
 * The shared cooldown after failed fetches. It lives in Redis so that every pod, and every
 * restart, sees the same schedule: restarting pods with the same wrong secret cannot reset it
 * into a storm. A pod whose credentials differ from those that failed is not held back by it.
 * Only the holder of the token lock writes.
 */
export class FetchHealth {
  constructor(
    private readonly redis: RedisClient,
    private readonly key: string,
    private readonly backoff: FetchBackoffSettings,
    private readonly credentials: string | undefined,
    private readonly random: () => number = Math.random,
  ) {}

  async read(): Promise<TokenHealth> {
    const raw = await this.redis.hgetall(this.key);
    return {
      failures: Number(raw.failures ?? 0),
      retryAt: Number(raw.retryAt ?? 0),
      ...(raw.misconfiguration ? { misconfiguration: raw.misconfiguration } : {}),
      ...(raw.lastError ? { lastError: raw.lastError } : {}),
      ...(raw.credentials ? { credentials: raw.credentials } : {}),
    };
  }

  /** Whether the failures recorded were made with other credentials than ours (so their cooldown is not ours). */
  private otherCredentials(health: TokenHealth): boolean {
    return this.credentials !== undefined && health.credentials !== this.credentials;
  }

  /** True when `health` forbids a fetch at `now`. */
  holdsBack(health: TokenHealth, now: number): boolean {
    return health.failures > 0 && now < health.retryAt && !this.otherCredentials(health);
  }

  async recordFailure(
    before: TokenHealth,
    now: number,
    failure: { error: string; misconfiguration?: string },
  ): Promise<TokenHealth> {
    const failures = this.otherCredentials(before) ? 1 : before.failures + 1;
    const after: TokenHealth = {
      failures,
      retryAt: now + fetchBackoffMs(failures, this.backoff, this.random),
      lastError: failure.error.slice(0, 300),
      ...(failure.misconfiguration ? { misconfiguration: failure.misconfiguration } : {}),
      ...(this.credentials ? { credentials: this.credentials } : {}),
    };
    await this.redis
      .multi()
      .del(this.key)
      .hset(this.key, {
        failures: after.failures,
        retryAt: after.retryAt,
        lastError: after.lastError ?? '',
        misconfiguration: after.misconfiguration ?? '',
        credentials: after.credentials ?? '',
        lastFailureAt: now,
      })
      .exec();
    return after;
  }

  async recordSuccess(now: number): Promise<void> {
    await this.redis.multi().del(this.key).hset(this.key, { failures: 0, lastSuccessAt: now }).exec();
  }
}
