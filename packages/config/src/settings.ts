import { z } from 'zod';

/** A bad setting: the message names every variable that failed and why. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Parses the environment once, at boot, against an app's settings schema. Throws a
 * ConfigError naming each variable that is missing or invalid.
 */
export function parseSettings<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined>,
): z.infer<S> {
  // `FOO=` (a compose file's blank) means "use the default": dropped here, once, because zod's
  // `.default()` only applies to a missing key, before any preprocess could blank it
  const given = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const result = schema.safeParse(given);
  if (result.success) return result.data;
  const lines = result.error.issues.map(
    (issue) => `  ${issue.path.join('.') || '(settings)'}: ${issue.message}`,
  );
  throw new ConfigError(`invalid settings:\n${lines.join('\n')}`);
}

/** Empty strings count as unset, so `FOO=` in a compose file means "use the default". */
function unsetIfEmpty(value: unknown): unknown {
  return value === '' ? undefined : value;
}

export const setting = {
  string: () => z.preprocess(unsetIfEmpty, z.string().min(1)),
  url: () => z.preprocess(unsetIfEmpty, z.url()),
  int: (min = 0, max = Number.MAX_SAFE_INTEGER) =>
    z.preprocess(unsetIfEmpty, z.coerce.number().int().min(min).max(max)),
  number: (min = 0) => z.preprocess(unsetIfEmpty, z.coerce.number().min(min)),
  port: () => z.preprocess(unsetIfEmpty, z.coerce.number().int().min(0).max(65535)),
  /** one of a few named values */
  oneOf: <const T extends readonly [string, ...string[]]>(values: T) =>
    z.preprocess(unsetIfEmpty, z.enum(values)),
  bool: () =>
    z.preprocess(
      unsetIfEmpty,
      z
        .enum(['true', 'false', '1', '0', 'yes', 'no'])
        .transform((v) => v === 'true' || v === '1' || v === 'yes'),
    ),
  /** comma-separated list; empty items dropped */
  list: () =>
    z.preprocess(
      unsetIfEmpty,
      z.string().transform((v) =>
        v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      ),
    ),
  /** a JSON document checked against `schema` (e.g. start-up faults of a simulator) */
  json: <S extends z.ZodType>(schema: S, what: string) =>
    z.preprocess(
      unsetIfEmpty,
      z
        .string()
        .transform((text, ctx) => {
          try {
            return JSON.parse(text) as unknown;
          } catch {
            ctx.addIssue({ code: 'custom', message: `must be JSON: ${what}` });
            return z.NEVER;
          }
        })
        .pipe(schema)
        .optional(),
    ),
  /** comma-separated durations in ms, e.g. a retry schedule */
  msList: () =>
    z.preprocess(
      unsetIfEmpty,
      z
        .string()
        .regex(/^\s*\d+(\s*,\s*\d+)*\s*$/, { message: 'expected comma-separated integers (milliseconds)' })
        .transform((v) => v.split(',').map((s) => Number(s.trim()))),
    ),
};

/** Settings every process shares (docs/settings.md). */
export const redisSettingsShape = {
  REDIS_URL: setting.string().default('redis://127.0.0.1:6379'),
  REDIS_CLUSTER_NODES: setting.list().optional(),
  KEY_PREFIX: z.preprocess(
    unsetIfEmpty,
    z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,32}$/, {
        message: 'KEY_PREFIX: 1-32 of A-Z a-z 0-9 _ . - (no braces or colons)',
      })
      .default('owc'),
  ),
};

export const logSettingsShape = {
  LOG_LEVEL: z.preprocess(
    unsetIfEmpty,
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ),
};

/** OpenTelemetry tracing: on when an OTLP endpoint is set, off (and free) otherwise. */
export const tracingSettingsShape = {
  OTEL_EXPORTER_OTLP_ENDPOINT: setting.url().optional(),
};

/** How we reach owitho and who we are to it (docs/settings.md). */
export const owithoSettingsShape = {
  OWITHO_BASE_URL: setting.url(),
  OWITHO_APP_ID: setting.string(),
  OWITHO_SECRET_KEY: setting.string(),
  OWITHO_CONNECT_TIMEOUT_MS: setting.int(1).default(3000),
  OWITHO_HEADERS_TIMEOUT_MS: setting.int(1).default(10_000),
  OWITHO_BODY_TIMEOUT_MS: setting.int(1).default(10_000),
  OWITHO_CONNECTIONS: setting.int(1).default(16),
};

/** The access-token keeper, shared by every process that signs or verifies. */
export const tokenSettingsShape = {
  TOKEN_OVERLAP_MS: setting.int(0).default(5 * 60_000),
  TOKEN_REFRESH_MARGIN_MS: setting.int(0).default(10 * 60_000),
  TOKEN_DAILY_QUOTA: setting.int(1).default(2000),
  TOKEN_QUOTA_WARN_SHARE: setting.number(0).pipe(z.number().max(1)).default(0.8),
  TOKEN_CACHE_MS: setting.int(0).default(1000),
  /** the cooldown after the first failed fetch; doubles with each further failure (shared by every pod) */
  TOKEN_FETCH_BACKOFF_BASE_MS: setting.int(1).default(1000),
  /** where the doubling stops: once reached, the shortest wait between two failing fetches */
  TOKEN_FETCH_BACKOFF_MAX_MS: setting.int(1).default(10 * 60_000),
  /** up to this share of the wait is added at random */
  TOKEN_FETCH_BACKOFF_JITTER: setting.number(0).pipe(z.number().max(1)).default(0.2),
  /** how long a business call waits for the keeper's token before failing retryable */
  TOKEN_WAIT_MS: setting.int(1).default(5000),
  /** how often the token role looks for refresh requests (a rejected token, a verification refresh) */
  TOKEN_POLL_MS: setting.int(10).default(1000),
  /** a verification refresh may be asked for only when no inbound request verified for this long */
  TOKEN_VERIFY_QUIET_MS: setting.int(0).default(15_000),
  /** the wait after a verification refresh before another; doubles each time, reset by a verified request */
  TOKEN_VERIFY_REFRESH_BASE_MS: setting.int(1).default(60_000),
  /** the longest wait between two verification refreshes */
  TOKEN_VERIFY_REFRESH_MAX_MS: setting.int(1).default(3_600_000),
};

/** The order store. */
export const orderStoreSettingsShape = {
  ORDER_TTL_MS: setting.int(60_000).default(30 * 24 * 3600 * 1000),
  /** events kept per order timeline (the operator's order page), oldest dropped first */
  ORDER_TIMELINE_MAX_EVENTS: setting.int(1).default(100),
};

/** The machine gateway (docs/gateway.md). */
export const gatewaySettingsShape = {
  MACHINE_GATEWAY_URL: setting.url(),
  GATEWAY_VEND_TIMEOUT_MS: setting.int(1).default(15_000),
  GATEWAY_QUERY_TIMEOUT_MS: setting.int(1).default(3000),
  /** sockets to the gateway; a vend holds one until its unit has dropped (the worker: ≥ DISPENSE_CONCURRENCY) */
  GATEWAY_CONNECTIONS: setting.int(1).default(1000),
};
