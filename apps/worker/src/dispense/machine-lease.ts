import { randomBytes } from 'node:crypto';
import { type RedisClient, taggedKey } from '@owc/redis';
import { HeldLease, LEASE_RELEASE, LEASE_RENEW } from './held-lease.js';

export interface MachineLeaseOptions {
  redis: RedisClient;
  keyPrefix: string;
  /** longer than the vend timeout, so a lease renewed before a vend outlives the request */
  ttlMs: number;
  /** how often a held lease is renewed; default ttl/3 */
  renewEveryMs?: number;
}

/** The key of a machine's lease: one key, its own hash tag. */
export function machineLeaseKey(keyPrefix: string, machineCode: string): string {
  return taggedKey(keyPrefix, `machine:${machineCode}`, 'lease');
}

/** The jobs waiting for a machine, oldest first: who the next release wakes. */
export function machineWaitersKey(keyPrefix: string, machineCode: string): string {
  return taggedKey(keyPrefix, `machine:${machineCode}`, 'waiters');
}

/**
 * Per-machine mutual exclusion across every pod: `SET key value NX PX ttl`. Whoever holds a
 * machine's lease is the only one who may have a vend in flight on it.
 */
export class MachineLease {
  private readonly redis: RedisClient;
  private readonly keyPrefix: string;
  private readonly ttlMs: number;
  private readonly renewEveryMs: number;

  constructor(options: MachineLeaseOptions) {
    this.redis = options.redis;
    this.keyPrefix = options.keyPrefix;
    this.ttlMs = options.ttlMs;
    this.renewEveryMs = options.renewEveryMs ?? Math.max(100, Math.floor(options.ttlMs / 3));
    if (!('owcLeaseRenew' in this.redis))
      this.redis.defineCommand('owcLeaseRenew', { numberOfKeys: 1, lua: LEASE_RENEW });
    if (!('owcLeaseRelease' in this.redis))
      this.redis.defineCommand('owcLeaseRelease', { numberOfKeys: 1, lua: LEASE_RELEASE });
  }

  /** Takes the machine's lease when it is free; undefined when another holder has it. */
  async tryAcquire(machineCode: string): Promise<HeldLease | undefined> {
    const key = machineLeaseKey(this.keyPrefix, machineCode);
    const value = randomBytes(16).toString('hex');
    const ok = await this.redis.set(key, value, 'PX', this.ttlMs, 'NX');
    if (ok !== 'OK') return undefined;
    return new HeldLease(this.redis, key, value, this.ttlMs, this.renewEveryMs);
  }

  /** Whether anyone holds the machine's lease right now. */
  async isHeld(machineCode: string): Promise<boolean> {
    return (await this.redis.exists(machineLeaseKey(this.keyPrefix, machineCode))) === 1;
  }

  /** Queues a job id to be woken when the machine is released (once per job). */
  async addWaiter(machineCode: string, jobId: string): Promise<void> {
    await this.redis.zadd(machineWaitersKey(this.keyPrefix, machineCode), 'NX', Date.now(), jobId);
  }

  /** Takes the oldest waiting job id off the machine's queue. */
  async nextWaiter(machineCode: string): Promise<string | undefined> {
    const [jobId] = await this.redis.zpopmin(machineWaitersKey(this.keyPrefix, machineCode));
    return jobId;
  }

  /** Who holds a machine's lease right now (its random value), for inspection. */
  async holder(machineCode: string): Promise<string | null> {
    return this.redis.get(machineLeaseKey(this.keyPrefix, machineCode));
  }
}
