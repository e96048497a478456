import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { RedisClient } from './connection.js';
import { LeaseHold } from './lease-hold.js';
import { luaScript } from './lua-script.js';
import { integerResult } from './script-results.js';
import { defineScripts, type ScriptCalls } from './scripts.js';

const scripts = {
  owcLeaseRenew: luaScript(new URL('../lua/lease-renew-1.lua', import.meta.url), integerResult),
  owcLeaseRelease: luaScript(new URL('../lua/lease-release-1.lua', import.meta.url), integerResult),
};

export type LeaseScripts = ScriptCalls<typeof scripts>;

export interface RedisLeaseOptions {
  /** how long a lease lives unless renewed */
  ttlMs: number;
  /** how often a held lease renews itself in the background; default ttl/3; 0: never (the holder renews) */
  renewEveryMs?: number;
}

/** The smallest background renewal period, however short the TTL. */
const minRenewEveryMs = 50;

/** Random bytes for this many lease tokens are drawn at once (one call into the CSPRNG). */
const TOKENS_PER_DRAW = 256;
const TOKEN_BYTES = 16;
let tokenPool = Buffer.alloc(0);
let tokenOffset = 0;

/**
 * A random 128-bit token (32 hex digits) for a lease taken now. The bytes come from a pool
 * drawn from the CSPRNG for TOKENS_PER_DRAW tokens at a time (randomBytes per lease was ~1 %
 * of the worker's busy time); each token uses its own bytes, never reused.
 */
function leaseToken(): string {
  if (tokenOffset + TOKEN_BYTES > tokenPool.length) {
    tokenPool = randomBytes(TOKEN_BYTES * TOKENS_PER_DRAW);
    tokenOffset = 0;
  }
  const token = tokenPool.toString('hex', tokenOffset, tokenOffset + TOKEN_BYTES);
  tokenOffset += TOKEN_BYTES;
  return token;
}

/**
 * The one fenced lease: mutual exclusion across every process on one Redis key. Taking it
 * writes a random 128-bit token (`SET key token NX PX ttl`); renewing and releasing go through
 * scripts that act only while the key still holds that token, so a holder whose lease expired
 * can neither extend nor free the next holder's. Used by the machine lease (one vend in flight
 * per machine), the machine-sync lock and the token keeper's lock.
 */
export class RedisLease {
  private readonly scripts: LeaseScripts;
  private readonly ttlMs: number;
  private readonly renewEveryMs: number;

  constructor(
    private readonly redis: RedisClient,
    options: RedisLeaseOptions,
  ) {
    if (!(options.ttlMs > 0)) throw new Error(`a lease needs a positive ttlMs, got ${options.ttlMs}`);
    this.scripts = defineScripts(redis, scripts);
    this.ttlMs = options.ttlMs;
    this.renewEveryMs = options.renewEveryMs ?? Math.max(minRenewEveryMs, Math.floor(options.ttlMs / 3));
  }

  /** Takes the lease at `key` when it is free; undefined while someone else holds it. */
  async acquire(key: string): Promise<LeaseHold | undefined> {
    const token = leaseToken();
    const takenAt = performance.now();
    const ok = await this.redis.set(key, token, 'PX', this.ttlMs, 'NX');
    if (ok !== 'OK') return undefined;
    return new LeaseHold(this.scripts, this.redis, key, token, this.ttlMs, this.renewEveryMs, takenAt);
  }

  /** The token of whoever holds the lease at `key` right now (null: free), for inspection. */
  async holder(key: string): Promise<string | null> {
    return this.redis.get(key);
  }
}
