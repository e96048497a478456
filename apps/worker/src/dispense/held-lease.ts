import type { RedisClient } from '@owc/redis';

/** Extends the lease's TTL only while it still holds our value. */
export const LEASE_RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`;

/** Deletes the lease only while it still holds our value (never someone else's). */
export const LEASE_RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`;

type LeaseScript = (key: string, value: string, ...args: (string | number)[]) => Promise<number>;
export type LeaseCommands = { owcLeaseRenew: LeaseScript; owcLeaseRelease: LeaseScript };

/**
 * A held lease: renewed in the background while held; `confirm()` renews it now and says
 * whether it is still ours (called right before a vend leaves); `release()` frees it by value.
 */
export class HeldLease {
  private timer: NodeJS.Timeout | undefined;
  private lostFlag = false;
  private released = false;

  constructor(
    private readonly redis: RedisClient,
    readonly key: string,
    readonly value: string,
    private readonly ttlMs: number,
    renewEveryMs: number,
  ) {
    this.timer = setInterval(() => {
      this.confirm().catch(() => {
        // a failed renewal is judged at the next confirm(); the TTL still bounds the lease
      });
    }, renewEveryMs);
    this.timer.unref();
  }

  /** False once a renewal found the lease gone or taken by another holder. */
  get held(): boolean {
    return !this.lostFlag && !this.released;
  }

  /** Renews the lease now; false (and lost for good) when it is no longer ours. */
  async confirm(): Promise<boolean> {
    if (!this.held) return false;
    const commands = this.redis as unknown as LeaseCommands;
    const ok = await commands.owcLeaseRenew.call(this.redis, this.key, this.value, this.ttlMs);
    if (ok !== 1) {
      this.lostFlag = true;
      this.stopRenewing();
    }
    return ok === 1;
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.stopRenewing();
    const commands = this.redis as unknown as LeaseCommands;
    await commands.owcLeaseRelease.call(this.redis, this.key, this.value);
  }

  private stopRenewing(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
