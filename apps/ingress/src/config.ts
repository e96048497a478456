import {
  logSettingsShape,
  orderStoreSettingsShape,
  parseSettings,
  redisSettingsShape,
  setting,
  tokenSettingsShape,
  tracingSettingsShape,
} from '@owc/config';
import { z } from 'zod';

/**
 * Every setting of the ingress, parsed once at boot. The ingress never fetches an access token
 * (the worker's `token` role does); it only reads the tokens the keeper honours, so the token
 * settings here are the ones that govern reading (overlap, cache).
 */
export const ingressSettingsSchema = z
  .object({
    ...redisSettingsShape,
    ...logSettingsShape,
    ...tracingSettingsShape,
    ...tokenSettingsShape,
    ...orderStoreSettingsShape,
    /** the appId owitho's requests must carry (ours) */
    OWITHO_APP_ID: setting.string(),
    UTC_TOLERANCE_MS: setting.int(0).default(300_000),
    INGRESS_HOST: setting.string().default('0.0.0.0'),
    INGRESS_PORT: setting.port().default(3000),
    /** the second listener, for operators and Prometheus only: /admin/*, /metrics, /docs (OpenAPI) */
    ADMIN_HOST: setting.string().default('0.0.0.0'),
    ADMIN_PORT: setting.port().default(3001),
    MACHINE_GATEWAY_URL: setting.url(),
    /** how long machine/query waits for the live state before it answers from the snapshot */
    MACHINE_QUERY_TIMEOUT_MS: setting.int(1).default(2000),
    GATEWAY_CONNECTIONS: setting.int(1).default(32),
    ADMIN_USER: setting.string(),
    ADMIN_PASSWORD: setting.string(),
    DASHBOARD_READ_ONLY: setting.bool().default(false),
    /** the dashboard's read-only viewer account (optional; the operator account is ADMIN_USER) */
    DASHBOARD_VIEWER_USER: setting.string().optional(),
    DASHBOARD_VIEWER_PASSWORD: setting.string().optional(),
    /** failed /admin logins from one address before it is refused for ADMIN_LOGIN_LOCKOUT_MS */
    ADMIN_LOGIN_MAX_FAILURES: setting.int(1).default(10),
    ADMIN_LOGIN_LOCKOUT_MS: setting.int(1).default(15 * 60_000),
    /** request body limit: beyond it 413, naming this setting */
    BODY_LIMIT_BYTES: setting.int(1024).default(1024 * 1024),
    /** order notice limits (owitho publishes none): a notice beyond one is 40000 naming the setting */
    NOTICE_MAX_LINES: setting.int(1).default(1000),
    NOTICE_MAX_LINE_QUANTITY: setting.int(1).default(1000),
    /**
     * units per order: the callback carries one detail entry per unit, so this bounds its size.
     * 1000 units of the longest ids (32-char slotNum, 128-char skuCode, 3 UTF-8 bytes each) make a
     * callback of about 0.53 MB, inside a 1 MiB body limit (docs/protocol.md, "Limits are settings").
     */
    NOTICE_MAX_UNITS: setting.int(1).default(1000),
    /** upper bound on accepting one notice (record + job); past it the answer is 503 */
    NOTICE_ACCEPT_TIMEOUT_MS: setting.int(1).default(5000),
    /** a Redis command not answered within this fails, and the request answers 503 */
    REDIS_COMMAND_TIMEOUT_MS: setting.int(1).default(2000),
    /** how long start-up waits for the first Redis connection before it listens anyway */
    REDIS_CONNECT_WAIT_MS: setting.int(0).default(3000),
    /** how long shutdown waits for in-flight requests before it closes anyway */
    SHUTDOWN_TIMEOUT_MS: setting.int(0).default(10_000),
  })
  .superRefine((s, ctx) => {
    // 0 means "a free port" for either; the same fixed port would make the second listen fail
    if (s.ADMIN_PORT !== 0 && s.ADMIN_PORT === s.INGRESS_PORT) {
      ctx.addIssue({
        code: 'custom',
        path: ['ADMIN_PORT'],
        message: `must differ from INGRESS_PORT (${s.INGRESS_PORT}): the admin surface never shares owitho's port`,
      });
    }
    if ((s.DASHBOARD_VIEWER_USER === undefined) !== (s.DASHBOARD_VIEWER_PASSWORD === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['DASHBOARD_VIEWER_PASSWORD'],
        message: 'set both DASHBOARD_VIEWER_USER and DASHBOARD_VIEWER_PASSWORD, or neither',
      });
    }
  });

export type IngressConfig = z.infer<typeof ingressSettingsSchema>;

export function loadIngressConfig(env: Record<string, string | undefined> = process.env): IngressConfig {
  return parseSettings(ingressSettingsSchema, env);
}
