import { type LeaseHold, type RedisClient, RedisLease, taggedKey } from '@owc/redis';

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
 * Per-machine mutual exclusion across every pod (a `RedisLease` per machine). Whoever holds a
 * machine's lease is the only one who may have a vend in flight on it; it renews the hold
 * right before each vend leaves (`LeaseHold.renew`).
 */
export class MachineLease {
  private readonly redis: RedisClient;
  private readonly keyPrefix: string;
  private readonly lease: RedisLease;

  constructor(options: MachineLeaseOptions) {
    this.redis = options.redis;
    this.keyPrefix = options.keyPrefix;
    this.lease = new RedisLease(options.redis, {
      ttlMs: options.ttlMs,
      ...(options.renewEveryMs !== undefined ? { renewEveryMs: options.renewEveryMs } : {}),
    });
  }

  /** Takes the machine's lease when it is free; undefined when another holder has it. */
  async tryAcquire(machineCode: string): Promise<LeaseHold | undefined> {
    return this.lease.acquire(machineLeaseKey(this.keyPrefix, machineCode));
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

  /** Who holds a machine's lease right now (its random token), for inspection. */
  async holder(machineCode: string): Promise<string | null> {
    return this.lease.holder(machineLeaseKey(this.keyPrefix, machineCode));
  }
}
