import { inSpan, type Logger } from '@owc/observability';
import { type AccessToken, absoluteExpiry } from '@owc/protocol';
import {
  defineScripts,
  type LeaseHold,
  type RedisClient,
  RedisLease,
  type ScriptCalls,
  taggedKey,
} from '@owc/redis';
import { TokenCoolingDownError } from './errors/token-cooling-down-error.js';
import { TokenQuotaExceededError } from './errors/token-quota-exceeded-error.js';
import { TokenUnavailableError } from './errors/token-unavailable-error.js';
import type { FetchBackoffSettings } from './fetch-backoff.js';
import { FetchHealth, type TokenHealth } from './fetch-health.js';
import type { TokenMetrics } from './token-metrics.js';
import { tokenScripts } from './token-scripts.js';

export interface TokenKeeperOptions {
  redis: RedisClient;
  keyPrefix: string;
  /** one request to owitho's getAccessToken; only ever called by the lock holder */
  fetchToken: () => Promise<AccessToken>;
  /** how long the previous token stays honoured after a refresh */
  overlapMs: number;
  /** proactive refresh this long before expiry */
  refreshMarginMs: number;
  dailyQuota: number;
  /** share of the quota past which every fetch logs a warning */
  quotaWarnShare: number;
  /** how long a read of the shared state is reused in-process */
  cacheMs: number;
  /** lock lifetime; must outlast one fetch (default 15 s) */
  lockTtlMs?: number;
  /** how long a caller waits for another pod's fetch before giving up (default 20 s) */
  waitMs?: number;
  /** the shared cooldown after failed fetches (default: 1 s doubling to 10 min, +20 % jitter) */
  backoff?: FetchBackoffSettings;
  /**
   * Names a fetch failure that a retry cannot fix (owitho refused our credentials), else
   * undefined. Such an attempt issued nothing, so it is not counted against the daily quota.
   */
  misconfigurationOf?: (error: unknown) => string | undefined;
  /** credentialsFingerprint(appId, secretKey): a pod with other credentials is not held back by their cooldown */
  credentials?: string;
  /** how often the background loop (start()) looks for refresh requests (default 1 s) */
  pollMs?: number;
  now?: () => number;
  random?: () => number;
  logger?: Logger;
  /** tokenMetrics(registry): the keeper binds the deployment-wide token gauges to itself */
  metrics: TokenMetrics;
}

export interface TokenState {
  current: string;
  expireAt: number;
  previous?: string;
  previousUntil?: number;
}

export const DEFAULT_FETCH_BACKOFF: FetchBackoffSettings = { baseMs: 1000, maxMs: 10 * 60_000, jitter: 0.2 };

/** Why a refresh is wanted; `force` (the operator's command) ignores the cooldown. */
interface RefreshReason {
  why: string;
  force?: boolean;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The one access token of the whole deployment (the guide's "central control server"). The
 * token lives in Redis; any pod may refresh it, but only while it holds the lock, and the
 * write is fenced by the lock's value. Everyone else reads.
 */
export class TokenKeeper {
  private readonly scripts: ScriptCalls<typeof tokenScripts>;
  private readonly lock: RedisLease;
  private readonly redis: RedisClient;
  private readonly keys: { state: string; lock: string; fetchesPrefix: string; wanted: string };
  /** the shared cooldown after failed fetches */
  readonly fetchHealth: FetchHealth;
  private readonly pollMs: number;
  private readonly now: () => number;
  private readonly lockTtlMs: number;
  private readonly waitMs: number;
  private cached?: { state: TokenState | undefined; until: number };
  private timer?: NodeJS.Timeout;
  private running = false;
  private loop?: Promise<void>;
  /** fetch failures already logged where they happened (the loop does not log them again) */
  private readonly reported = new WeakSet<object>();

  constructor(private readonly options: TokenKeeperOptions) {
    this.redis = options.redis;
    this.keys = {
      state: taggedKey(options.keyPrefix, 'token', 'state'),
      lock: taggedKey(options.keyPrefix, 'token', 'lock'),
      fetchesPrefix: taggedKey(options.keyPrefix, 'token', 'fetches'),
      wanted: taggedKey(options.keyPrefix, 'token', 'wanted'),
    };
    this.fetchHealth = new FetchHealth(
      this.redis,
      taggedKey(options.keyPrefix, 'token', 'health'),
      options.backoff ?? DEFAULT_FETCH_BACKOFF,
      options.credentials,
      options.random,
    );
    this.pollMs = options.pollMs ?? 1000;
    this.now = options.now ?? Date.now;
    this.lockTtlMs = options.lockTtlMs ?? 15_000;
    this.waitMs = options.waitMs ?? 20_000;
    this.scripts = defineScripts(this.redis, tokenScripts);
    // the holder renews it itself once the fetch is back, before its fenced write
    this.lock = new RedisLease(this.redis, { ttlMs: this.lockTtlMs, renewEveryMs: 0 });
    options.metrics.bind({
      dailyQuota: options.dailyQuota,
      fetchesToday: () => this.fetchesToday(),
      secondsLeft: async () => {
        const state = await this.cachedState();
        return state ? (state.expireAt - this.now()) / 1000 : undefined;
      },
    });
  }

  private fetchesKey(at = this.now()): string {
    return `${this.keys.fetchesPrefix}:${new Date(at).toISOString().slice(0, 10)}`;
  }

  /** The shared state, straight from Redis (and refreshes the in-process cache). */
  async readState(): Promise<TokenState | undefined> {
    const raw = await this.redis.hgetall(this.keys.state);
    const state: TokenState | undefined = raw.current
      ? {
          current: raw.current,
          expireAt: Number(raw.expireAt),
          ...(raw.previous ? { previous: raw.previous, previousUntil: Number(raw.previousUntil) } : {}),
        }
      : undefined;
    this.cached = { state, until: this.now() + this.options.cacheMs };
    return state;
  }

  private async cachedState(): Promise<TokenState | undefined> {
    if (this.cached && this.cached.until > this.now()) return this.cached.state;
    return this.readState();
  }

  private honoured(state: TokenState | undefined): string[] {
    if (!state) return [];
    const tokens = [state.current];
    if (state.previous && state.previousUntil !== undefined && state.previousUntil > this.now()) {
      tokens.push(state.previous);
    }
    return tokens;
  }

  /** Tokens honoured now, current first; never fetches (an empty list when there is none yet). */
  async peekHonouredTokens(): Promise<string[]> {
    return this.honoured(await this.cachedState());
  }

  /**
   * Tokens to sign with and to verify against: current first, then the previous one in its
   * overlap. The keeper's own side: fetches (under the lock, within the cooldown and the quota)
   * when there is none or it expired. Business calls use tokensForCall(), which never fetches.
   */
  async honouredTokens(): Promise<string[]> {
    const state = await this.cachedState();
    if (state && this.now() < state.expireAt) return this.honoured(state);
    const missingOrExpired = (s: TokenState | undefined) => s === undefined || this.now() >= s.expireAt;
    return this.honoured(
      await this.refreshWhen(missingOrExpired, { why: state ? 'token expired' : 'no token yet' }),
    );
  }

  async currentToken(): Promise<string> {
    const [current] = await this.honouredTokens();
    if (!current) throw new TokenUnavailableError('no access token available');
    return current;
  }

  /**
   * A call was refused with this token. Refreshes only if it is still the current one, so any
   * number of concurrent callers on any number of pods cause one fetch; all get the new token.
   * The keeper's own side (tests, the operator): business calls use tokensAfterRejection().
   */
  async refreshBecauseRejected(failedToken: string): Promise<string> {
    const state = await this.refreshWhen((s) => s === undefined || s.current === failedToken, {
      why: 'token rejected',
    });
    return state.current;
  }

  /** The operator's "refresh now": one fetch under the lock, even inside a cooldown (never past the quota). */
  async refreshNow(): Promise<TokenState> {
    return this.refreshWhen(() => true, { why: 'operator refresh', force: true });
  }

  // --- business calls: never fetch; they ask the keeper and wait (bounded) ---

  /**
   * The tokens a business call signs with. Never fetches: when there is no usable token it asks
   * the keeper (the `token` role's loop) for one and waits up to `waitMs`, then throws
   * TokenUnavailableError (the caller fails retryable). Fails at once inside a cooldown that
   * outlasts the wait.
   */
  async tokensForCall(): Promise<string[]> {
    const usable = (s: TokenState | undefined): boolean => s !== undefined && this.now() < s.expireAt;
    const state = await this.cachedState();
    if (usable(state)) return this.honoured(state);
    await this.requestRefresh(
      state === undefined ? '' : state.current,
      state ? 'token expired' : 'no token yet',
    );
    return this.honoured(await this.waitFor(usable));
  }

  /**
   * A business call was refused with `failedToken` (40002). Never fetches: asks the keeper for a
   * refresh (one per token, however many calls ask) and waits, bounded, for a different token.
   */
  async tokensAfterRejection(failedToken: string): Promise<string[]> {
    const moved = (s: TokenState | undefined): boolean =>
      s !== undefined && s.current !== failedToken && this.now() < s.expireAt;
    const state = await this.readState();
    if (moved(state)) return this.honoured(state);
    await this.requestRefresh(failedToken, 'token rejected');
    return this.honoured(await this.waitFor(moved));
  }

  /**
   * Asks the keeper to replace `token` ('' = there is none). Cheap and idempotent: one key,
   * overwritten by every asker; the keeper acts on it only while `token` is still current.
   */
  async requestRefresh(token: string, why: string): Promise<void> {
    await this.redis.set(this.keys.wanted, JSON.stringify({ token, why }), 'PX', 5 * 60_000);
  }

  private async waitFor(ready: (s: TokenState | undefined) => boolean): Promise<TokenState> {
    const deadline = this.now() + this.waitMs;
    let pause = 50;
    for (;;) {
      const state = await this.readState();
      if (state && ready(state)) return state;
      const health = await this.fetchHealth.read();
      if (this.fetchHealth.holdsBack(health, deadline)) {
        throw new TokenCoolingDownError(health.retryAt, health.failures, health.misconfiguration);
      }
      if (this.now() + pause > deadline) {
        throw new TokenUnavailableError(
          `no usable access token after waiting ${this.waitMs} ms for the keeper`,
        );
      }
      await sleep(pause);
      pause = Math.min(pause * 2, 500);
    }
  }

  /** The proactive step: refreshes when the token is missing or inside the refresh margin. */
  async refreshIfDue(): Promise<boolean> {
    const before = await this.readState();
    if (!this.isDue(before)) return false;
    const after = await this.refreshWhen((s) => this.isDue(s), { why: 'expiry ahead' });
    return after.current !== before?.current;
  }

  /** Serves a refresh request (requestRefresh) when its token is still the current one. */
  async refreshIfWanted(): Promise<boolean> {
    const raw = await this.redis.get(this.keys.wanted);
    if (raw === null) return false;
    let wanted: { token: string; why: string };
    try {
      wanted = JSON.parse(raw) as { token: string; why: string };
    } catch {
      wanted = { token: '', why: 'unreadable request' };
    }
    const stillNeeded = (s: TokenState | undefined) =>
      s === undefined || s.current === wanted.token || this.now() >= s.expireAt;
    const before = await this.readState();
    if (!stillNeeded(before)) {
      await this.redis.del(this.keys.wanted);
      return false;
    }
    const after = await this.refreshWhen(stillNeeded, { why: `requested: ${wanted.why}` });
    await this.redis.del(this.keys.wanted);
    return after.current !== before?.current;
  }

  private isDue(state: TokenState | undefined): boolean {
    return state === undefined || this.now() >= state.expireAt - this.options.refreshMarginMs;
  }

  async fetchesToday(): Promise<number> {
    return Number((await this.redis.get(this.fetchesKey())) ?? 0);
  }

  /** How fetches are going (shared across pods); also sets the misconfiguration gauge. */
  async health(): Promise<TokenHealth> {
    const health = await this.fetchHealth.read();
    this.options.metrics.misconfigured.set(health.misconfiguration ? 1 : 0);
    return health;
  }

  /**
   * Double-checked refresh under the lock: whoever takes the lock re-reads the state and
   * fetches only if `needed` still holds; everyone else waits for the state to change. Inside
   * the shared cooldown nobody fetches (unless forced): they get TokenCoolingDownError.
   */
  private async refreshWhen(
    needed: (state: TokenState | undefined) => boolean,
    reason: RefreshReason,
  ): Promise<TokenState> {
    const deadline = this.now() + this.waitMs;
    let pause = 20;
    for (;;) {
      const state = await this.readState();
      if (state && !needed(state)) return state;
      if (!reason.force) await this.checkCooldown();
      const hold = await this.lock.acquire(this.keys.lock);
      if (hold) {
        try {
          const again = await this.readState();
          if (again && !needed(again)) return again;
          const health = reason.force ? await this.fetchHealth.read() : await this.checkCooldown();
          return await this.fetchAndWrite(hold, reason.why, health);
        } finally {
          await hold.release();
        }
      }
      if (this.now() > deadline) {
        throw new TokenUnavailableError(
          `no access token after waiting ${this.waitMs} ms for another process's refresh`,
        );
      }
      await sleep(pause + Math.random() * pause);
      pause = Math.min(pause * 2, 250);
    }
  }

  /** Throws TokenCoolingDownError inside the shared cooldown; returns the health otherwise. */
  private async checkCooldown(): Promise<TokenHealth> {
    const health = await this.fetchHealth.read();
    if (this.fetchHealth.holdsBack(health, this.now())) {
      throw new TokenCoolingDownError(health.retryAt, health.failures, health.misconfiguration);
    }
    return health;
  }

  /**
   * One refresh in a span of its own (`token refresh`): the getAccessToken request nests under
   * it, and a refresh from the token role's timer is a trace of its own instead of a lone request.
   */
  private fetchAndWrite(hold: LeaseHold, why: string, health: TokenHealth): Promise<TokenState> {
    return inSpan('token refresh', { 'owc.token.reason': why }, () =>
      this.fetchAndWriteNow(hold, why, health),
    );
  }

  private async fetchAndWriteNow(hold: LeaseHold, why: string, health: TokenHealth): Promise<TokenState> {
    const quota = this.options.dailyQuota;
    const usedBefore = await this.fetchesToday();
    if (usedBefore >= quota) {
      this.options.metrics.quotaWarnings.inc();
      this.options.logger?.error(
        { fetchesToday: usedBefore, quota },
        'access token quota reached: not fetching',
      );
      throw new TokenQuotaExceededError(usedBefore, quota);
    }
    let fetched: AccessToken;
    try {
      fetched = await this.options.fetchToken();
    } catch (error) {
      await this.fetchFailed(error, why, health);
      throw error;
    }
    this.options.metrics.attempts.inc({ outcome: 'ok' });
    this.options.metrics.misconfigured.set(0);
    const used = await this.countIssued();
    if (used >= quota * this.options.quotaWarnShare) {
      this.options.metrics.quotaWarnings.inc();
      this.options.logger?.warn(
        { fetchesToday: used, quota },
        'access token fetches past the warning share of the daily quota',
      );
    }
    const now = this.now();
    const expireAt = absoluteExpiry(fetched, now);
    // the fetch may have outlived the lock: extend it only if still ours, then write fenced
    await hold.renew();
    const written = await this.scripts.owcTokenWrite(
      this.keys.lock,
      this.keys.state,
      hold.token,
      fetched.accessToken,
      expireAt,
      now + this.options.overlapMs,
      now,
    );
    if (written === 'lost') {
      this.options.logger?.warn(
        { why },
        'lost the token lock during the fetch; keeping the token another process wrote',
      );
    } else {
      await this.fetchHealth.recordSuccess(now);
      this.options.logger?.info({ why, expireAt, fetchesToday: used }, 'access token refreshed');
    }
    const state = await this.readState();
    if (!state) throw new TokenUnavailableError('token state vanished after a refresh');
    return state;
  }

  /** Counts a fetch owitho may have counted; returns today's count. */
  private async countIssued(): Promise<number> {
    const used = await this.scripts.owcTokenCountIssued(this.fetchesKey(), 2 * 24 * 3600 * 1000);
    this.options.metrics.fetches.inc();
    return used;
  }

  /**
   * A failed fetch: starts (or lengthens) the shared cooldown. A refusal of our credentials is a
   * misconfiguration: logged loudly, shown in the gauge and in readiness, and not counted against
   * the quota (owitho issued nothing). Anything else may have reached owitho and is counted.
   */
  private async fetchFailed(error: unknown, why: string, before: TokenHealth): Promise<void> {
    if (typeof error === 'object' && error !== null) this.reported.add(error);
    const misconfiguration = this.options.misconfigurationOf?.(error);
    const message = error instanceof Error ? error.message : String(error);
    const now = this.now();
    const after = await this.fetchHealth.recordFailure(before, now, {
      error: message,
      ...(misconfiguration ? { misconfiguration } : {}),
    });
    const retryInMs = after.retryAt - now;
    if (misconfiguration) {
      this.options.metrics.attempts.inc({ outcome: 'misconfigured' });
      this.options.metrics.misconfigured.set(1);
      this.options.logger?.error(
        { misconfiguration, failures: after.failures, retryInMs, why },
        'MISCONFIGURATION: owitho refused our credentials on getAccessToken; check OWITHO_APP_ID and OWITHO_SECRET_KEY (fix them and restart, or run `pnpm cli token:refresh`)',
      );
      return;
    }
    this.options.metrics.attempts.inc({ outcome: 'failed' });
    await this.countIssued();
    this.options.logger?.warn(
      { err: error, failures: after.failures, retryInMs, why },
      'access token fetch failed; cooling down',
    );
  }

  /**
   * One step of the keeper's loop: the proactive refresh, then any refresh request. Returns how
   * long to sleep before the next step. Never throws (failures are logged and cooled down).
   */
  async tick(): Promise<number> {
    try {
      await this.refreshIfDue();
      await this.refreshIfWanted();
      const state = await this.readState();
      // wake at the margin or at the next poll for requests, whichever is sooner
      const untilDue = state ? state.expireAt - this.options.refreshMarginMs - this.now() : this.pollMs;
      return Math.max(Math.min(untilDue, this.pollMs), 50);
    } catch (error) {
      if (error instanceof TokenCoolingDownError) {
        return Math.max(Math.min(error.retryAt - this.now(), this.pollMs), 50);
      }
      // at the quota (logged where it was refused) look again once a minute, not every poll
      if (error instanceof TokenQuotaExceededError) return Math.max(this.pollMs, 60_000);
      // fetch failures were logged where they happened; anything else is Redis or the lock
      if (!(typeof error === 'object' && error !== null && this.reported.has(error)))
        this.options.logger?.error({ err: error }, 'token keeper step failed');
      return this.pollMs;
    }
  }

  /** Runs the keeper loop until stop(); timers are unref'd. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const step = async (): Promise<void> => {
      const next = await this.tick();
      if (!this.running) return;
      this.timer = setTimeout(() => {
        this.loop = step();
      }, next);
      this.timer.unref();
    };
    this.loop = step();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    await this.loop;
  }
}
