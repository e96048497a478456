import { Counter, type Gauge, Gauge as GaugeMetric, type Logger, type Registry } from '@owc/observability';
import { type AccessToken, absoluteExpiry } from '@owc/protocol';
import {
  defineScripts,
  type LeaseHold,
  type RedisClient,
  RedisLease,
  type ScriptCalls,
  taggedKey,
} from '@owc/redis';
import { TokenQuotaExceededError } from './errors/token-quota-exceeded-error.js';
import { TokenUnavailableError } from './errors/token-unavailable-error.js';
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
  now?: () => number;
  logger?: Logger;
  metrics?: Registry;
}

export interface TokenState {
  current: string;
  expireAt: number;
  previous?: string;
  previousUntil?: number;
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
  private readonly keys: { state: string; lock: string; fetchesPrefix: string };
  private readonly now: () => number;
  private readonly lockTtlMs: number;
  private readonly waitMs: number;
  private cached?: { state: TokenState | undefined; until: number };
  private timer?: NodeJS.Timeout;
  private running = false;
  private loop?: Promise<void>;
  private readonly fetchedToday?: Gauge;
  private readonly fetches?: Counter;
  private readonly quotaWarnings?: Counter;

  constructor(private readonly options: TokenKeeperOptions) {
    this.redis = options.redis;
    this.keys = {
      state: taggedKey(options.keyPrefix, 'token', 'state'),
      lock: taggedKey(options.keyPrefix, 'token', 'lock'),
      fetchesPrefix: taggedKey(options.keyPrefix, 'token', 'fetches'),
    };
    this.now = options.now ?? Date.now;
    this.lockTtlMs = options.lockTtlMs ?? 15_000;
    this.waitMs = options.waitMs ?? 20_000;
    this.scripts = defineScripts(this.redis, tokenScripts);
    // the holder renews it itself once the fetch is back, before its fenced write
    this.lock = new RedisLease(this.redis, { ttlMs: this.lockTtlMs, renewEveryMs: 0 });
    if (options.metrics) {
      const registry = options.metrics;
      this.fetchedToday =
        (registry.getSingleMetric('owc_token_fetches_today') as Gauge | undefined) ??
        new GaugeMetric({
          name: 'owc_token_fetches_today',
          help: 'access token fetches counted today (UTC)',
          registers: [registry],
        });
      this.fetches =
        (registry.getSingleMetric('owc_token_fetches_total') as Counter | undefined) ??
        new Counter({
          name: 'owc_token_fetches_total',
          help: 'access token fetches made by this process',
          registers: [registry],
        });
      this.quotaWarnings =
        (registry.getSingleMetric('owc_token_quota_warnings_total') as Counter | undefined) ??
        new Counter({
          name: 'owc_token_quota_warnings_total',
          help: 'token fetches made past the warning share of the daily quota (or refused at it)',
          registers: [registry],
        });
      if (!registry.getSingleMetric('owc_token_quota')) {
        new GaugeMetric({
          name: 'owc_token_quota',
          help: 'daily access token fetch quota',
          registers: [registry],
        }).set(options.dailyQuota);
      }
    }
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

  /** Tokens to sign with and to verify against: current first, then the previous one in its overlap. */
  async honouredTokens(): Promise<string[]> {
    const state = await this.cachedState();
    if (state && this.now() < state.expireAt) return this.honoured(state);
    // none yet, or expired with no proactive refresh (no pod runs the `token` role): fetch under the lock
    const missingOrExpired = (s: TokenState | undefined) => s === undefined || this.now() >= s.expireAt;
    return this.honoured(await this.refreshWhen(missingOrExpired, state ? 'token expired' : 'no token yet'));
  }

  async currentToken(): Promise<string> {
    const [current] = await this.honouredTokens();
    if (!current) throw new TokenUnavailableError('no access token available');
    return current;
  }

  /**
   * A call was refused with this token. Refreshes only if it is still the current one, so any
   * number of concurrent callers on any number of pods cause one fetch; all get the new token.
   */
  async refreshBecauseRejected(failedToken: string): Promise<string> {
    const state = await this.refreshWhen(
      (s) => s === undefined || s.current === failedToken,
      'token rejected',
    );
    return state.current;
  }

  /** The proactive step: refreshes when the token is missing or inside the refresh margin. */
  async refreshIfDue(): Promise<boolean> {
    const before = await this.readState();
    if (!this.isDue(before)) return false;
    const after = await this.refreshWhen((s) => this.isDue(s), 'expiry ahead');
    return after.current !== before?.current;
  }

  private isDue(state: TokenState | undefined): boolean {
    return state === undefined || this.now() >= state.expireAt - this.options.refreshMarginMs;
  }

  async fetchesToday(): Promise<number> {
    return Number((await this.redis.get(this.fetchesKey())) ?? 0);
  }

  /**
   * Double-checked refresh under the lock: whoever takes the lock re-reads the state and
   * fetches only if `needed` still holds; everyone else waits for the state to change.
   */
  private async refreshWhen(
    needed: (state: TokenState | undefined) => boolean,
    why: string,
  ): Promise<TokenState> {
    const deadline = this.now() + this.waitMs;
    let pause = 20;
    for (;;) {
      const state = await this.readState();
      if (state && !needed(state)) return state;
      const hold = await this.lock.acquire(this.keys.lock);
      if (hold) {
        try {
          const again = await this.readState();
          if (again && !needed(again)) return again;
          return await this.fetchAndWrite(hold, why);
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

  private async fetchAndWrite(hold: LeaseHold, why: string): Promise<TokenState> {
    const quota = this.options.dailyQuota;
    const used = await this.scripts.owcTokenCountFetch(this.fetchesKey(), quota, 2 * 24 * 3600 * 1000);
    if (used < 0) {
      this.fetchedToday?.set(-used);
      this.quotaWarnings?.inc();
      this.options.logger?.error({ fetchesToday: -used, quota }, 'access token quota reached: not fetching');
      throw new TokenQuotaExceededError(-used, quota);
    }
    this.fetchedToday?.set(used);
    this.fetches?.inc();
    if (used >= quota * this.options.quotaWarnShare) {
      this.quotaWarnings?.inc();
      this.options.logger?.warn(
        { fetchesToday: used, quota },
        'access token fetches past the warning share of the daily quota',
      );
    }
    const fetched = await this.options.fetchToken();
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
      this.options.logger?.info({ why, expireAt, fetchesToday: used }, 'access token refreshed');
    }
    const state = await this.readState();
    if (!state) throw new TokenUnavailableError('token state vanished after a refresh');
    return state;
  }

  /** Runs the proactive refresh loop until stop(); timers are unref'd and sleep until the next due time. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const tick = async (): Promise<void> => {
      let next = 1000;
      try {
        await this.refreshIfDue();
        const state = await this.readState();
        // wake when the token enters its margin; re-read at least every 30 s (another pod may refresh)
        next = state ? state.expireAt - this.options.refreshMarginMs - this.now() : 1000;
      } catch (error) {
        this.options.logger?.error({ err: (error as Error).message }, 'proactive token refresh failed');
        next = 5000;
      }
      if (!this.running) return;
      this.timer = setTimeout(
        () => {
          this.loop = tick();
        },
        Math.min(Math.max(next, 50), 30_000),
      );
      this.timer.unref();
    };
    this.loop = tick();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    await this.loop;
  }
}
