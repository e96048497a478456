import { performance } from 'node:perf_hooks';
import type { RedisClient } from './connection.js';
import type { LeaseScripts } from './redis-lease.js';

/**
 * A lease we took (`RedisLease.acquire`). While held it renews itself in the background
 * (unless its lease was made with `renewEveryMs: 0`); once a renewal finds the key gone or
 * another token in it, the hold is lost for good and stops renewing.
 */
export class LeaseHold {
  private timer: NodeJS.Timeout | undefined;
  private lost = false;
  private released = false;
  /**
   * when (performance.now()) the last take or renewal that found the lease ours was sent: Redis
   * set the TTL after that, so the lease is ours at least until this + ttlMs
   */
  private confirmedAt: number;

  constructor(
    private readonly scripts: LeaseScripts,
    private readonly redis: RedisClient,
    readonly key: string,
    /** the random value that fences every renewal, release and fenced write */
    readonly token: string,
    private readonly ttlMs: number,
    renewEveryMs: number,
    /** when the command that took the lease was sent (performance.now()) */
    takenAt: number,
  ) {
    this.confirmedAt = takenAt;
    if (renewEveryMs > 0) {
      this.timer = setInterval(() => {
        this.renew().catch(() => {
          // a failed renewal is judged by the next renew()/check(); the TTL still bounds the lease
        });
      }, renewEveryMs);
      this.timer.unref();
    }
  }

  /** False once we released it or a renewal found it no longer ours (as last seen; see check()). */
  get held(): boolean {
    return !this.lost && !this.released;
  }

  /** Extends the lease by its TTL now; false (and lost for good) when it is no longer ours. */
  async renew(): Promise<boolean> {
    if (!this.held) return false;
    const sentAt = performance.now();
    const ok = (await this.scripts.owcLeaseRenew(this.key, this.token, this.ttlMs)) === 1;
    if (!ok) this.markLost();
    else if (sentAt > this.confirmedAt) this.confirmedAt = sentAt;
    return ok;
  }

  /**
   * Makes sure the lease stays ours for at least `ms` more: true without a round trip when the
   * last take or renewal that found it ours was sent less than `ttlMs - ms` ago (nobody else can
   * have taken it before it expires), else renews (`renew`). False when it is no longer ours.
   */
  async ensure(ms: number): Promise<boolean> {
    if (!this.held) return false;
    if (performance.now() - this.confirmedAt < this.ttlMs - ms) return true;
    return this.renew();
  }

  /** Whether Redis still holds our token, without extending it. */
  async check(): Promise<boolean> {
    if (!this.held) return false;
    const ok = (await this.redis.get(this.key)) === this.token;
    if (!ok) this.markLost();
    return ok;
  }

  /** Frees the lease if it is still ours; true when this call freed it. Idempotent. */
  async release(): Promise<boolean> {
    if (this.released) return false;
    const wasLost = this.lost;
    this.released = true;
    this.stopRenewing();
    if (wasLost) return false;
    return (await this.scripts.owcLeaseRelease(this.key, this.token)) === 1;
  }

  private markLost(): void {
    this.lost = true;
    this.stopRenewing();
  }

  private stopRenewing(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
