import type { Logger } from '@owc/observability';
import { defineScripts, type RedisClient, type ScriptCall, taggedKey } from '@owc/redis';
import { verifyScripts } from './token-scripts.js';

export interface SignatureFailureWatchOptions {
  redis: RedisClient;
  keyPrefix: string;
  /** where a verification refresh is asked for (TokenKeeper.requestRefresh) */
  keeper: { requestRefresh(token: string, why: string): Promise<void> };
  /** a refresh may be asked for only when no inbound request verified for this long */
  quietMs: number;
  /** the wait after the first verification refresh before another may be asked for; doubles each time */
  baseIntervalMs: number;
  /** the longest such wait */
  maxIntervalMs: number;
  now?: () => number;
  logger?: Logger;
}

export type SignatureFailureVerdict = 'requested' | 'verified-recently' | 'rate-limited' | 'throttled';

/**
 * Notices that owitho's token moved without us (fetched elsewhere, revoked): we make no calls of
 * our own, so all we see is inbound requests that fail the signature check against every token we
 * honour. When none has verified for `quietMs`, one failure asks the keeper for a *verification
 * refresh* (a new fetch makes owitho sign with the token we hold). Each granted request doubles
 * the wait before the next (base, 2·base, … max); a verified request resets it. So forged traffic
 * alone costs a few dozen fetches a day, and real traffic signed with a moved token is honoured
 * again after about quietMs plus one fetch. Shared across pods (one Redis hash); each process
 * also throttles its own Redis writes.
 */
export class SignatureFailureWatch {
  private readonly key: string;
  private readonly request: ScriptCall<SignatureFailureVerdict>;
  private readonly now: () => number;
  private lastVerifiedLocal = 0;
  private lastVerifiedWrite = 0;
  private lastFailureCheck = 0;

  constructor(private readonly options: SignatureFailureWatchOptions) {
    this.key = taggedKey(options.keyPrefix, 'token', 'verify');
    this.now = options.now ?? Date.now;
    this.request = defineScripts(options.redis, verifyScripts).owcTokenVerifyRequest;
  }

  /** How often one process writes "verified" (a fraction of the quiet window, at least 250 ms). */
  private get writeEveryMs(): number {
    return Math.max(250, Math.floor(this.options.quietMs / 4));
  }

  /** A request verified: resets the wait between verification refreshes (one write per writeEveryMs). */
  verified(): void {
    const now = this.now();
    this.lastVerifiedLocal = now;
    if (now - this.lastVerifiedWrite < this.writeEveryMs) return;
    this.lastVerifiedWrite = now;
    this.options.redis
      .hset(this.key, { verifiedAt: now, granted: 0, nextAllowedAt: 0 })
      .catch((error: unknown) =>
        this.options.logger?.warn({ err: error }, 'could not note a verified request'),
      );
  }

  /**
   * A request failed the signature check against every honoured token (`tokens`, current first).
   * Asks for a verification refresh when the rules allow; never throws.
   */
  async failed(tokens: readonly string[]): Promise<SignatureFailureVerdict> {
    const now = this.now();
    if (now - this.lastVerifiedLocal < this.options.quietMs) return 'verified-recently';
    // one look at the shared state per second per process is enough
    if (now - this.lastFailureCheck < 1000) return 'throttled';
    this.lastFailureCheck = now;
    try {
      const verdict = await this.request(
        this.key,
        now,
        this.options.quietMs,
        this.options.baseIntervalMs,
        this.options.maxIntervalMs,
      );
      if (verdict === 'requested') {
        await this.options.keeper.requestRefresh(
          tokens[0] ?? '',
          'inbound signatures fail against every honoured token',
        );
        this.options.logger?.warn(
          { quietMs: this.options.quietMs },
          'inbound requests fail the signature check and none verified lately: asked for a verification refresh of the access token',
        );
      }
      return verdict;
    } catch (error) {
      this.options.logger?.warn({ err: error }, 'could not check for a verification refresh');
      return 'throttled';
    }
  }
}
