import { defineMetrics, type Registry } from '@owc/observability';

/** What the deployment-wide token gauges read on a scrape (the keeper, bound once it exists). */
export interface TokenGaugeSource {
  /** fetches counted today (UTC) in Redis, by every pod */
  fetchesToday(): Promise<number>;
  /** seconds the current token stays valid (negative: expired; undefined: there is none) */
  secondsLeft(): Promise<number | undefined>;
  readonly dailyQuota: number;
}

const sources = new WeakMap<Registry, TokenGaugeSource>();

/**
 * The token keeper's metrics. The gauges are deployment-wide and read on scrape from the shared
 * state (one GET, the keeper's cached token state), so every pod reports the same value.
 */
export function tokenMetrics(registry: Registry) {
  const source = () => sources.get(registry);
  return defineMetrics(registry, (m) => ({
    fetches: m.counter({
      name: 'owc_token_fetches_total',
      help: 'access token fetches made by this process',
    }),
    quotaWarnings: m.counter({
      name: 'owc_token_quota_warnings_total',
      help: 'token fetches made past the warning share of the daily quota (or refused at it)',
    }),
    attempts: m.counter({
      name: 'owc_token_fetch_attempts_total',
      help: 'getAccessToken attempts by this process, by outcome (ok, misconfigured, failed)',
      labelNames: ['outcome'] as const,
    }),
    misconfigured: m.gauge({
      name: 'owc_token_misconfigured',
      help: '1 while owitho refuses our credentials on getAccessToken (40001/40002/40003), else 0',
    }),
    fetchesToday: m.gauge({
      name: 'owc_token_fetches_today',
      help: 'access token fetches counted today (UTC), by every pod',
      scope: 'deployment',
      async collect(gauge) {
        const s = source();
        if (s) gauge.set(await s.fetchesToday());
      },
    }),
    quota: m.gauge({
      name: 'owc_token_quota',
      help: 'daily access token fetch quota (TOKEN_DAILY_QUOTA)',
      scope: 'deployment',
      collect(gauge) {
        const s = source();
        if (s) gauge.set(s.dailyQuota);
      },
    }),
    validSeconds: m.gauge({
      name: 'owc_token_valid_seconds',
      help: 'seconds the shared access token stays valid (0 when there is none or it expired)',
      scope: 'deployment',
      async collect(gauge) {
        const s = source();
        if (s) gauge.set(Math.max(0, (await s.secondsLeft()) ?? 0));
      },
    }),
    /** makes the gauges read from this keeper (the latest bound one wins) */
    bind(s: TokenGaugeSource): void {
      sources.set(registry, s);
    },
  }));
}

export type TokenMetrics = ReturnType<typeof tokenMetrics>;
