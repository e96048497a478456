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
  const result = schema.safeParse(env);
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

/** Settings every process shares (SETTINGS.md). */
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
