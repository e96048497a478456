import { logSettingsShape, parseSettings, setting } from '@owc/config';
import { z } from 'zod';
import { faultsSchema } from './sim.schema.js';

/** OWITHO_SIM_FAULTS: a JSON object of start faults, e.g. `{"status503":true,"path":"/order/callback"}`. */
const faultsSetting = setting.json(faultsSchema, 'a JSON object of faults');

export const owithoSimSettingsSchema = z.object({
  ...logSettingsShape,
  OWITHO_SIM_HOST: setting.string().default('0.0.0.0'),
  OWITHO_SIM_PORT: setting.port().default(4000),
  OWITHO_SIM_THIRD_URL: setting.url().default('http://127.0.0.1:3000'),
  OWITHO_SIM_APP_ID: setting.string().default('demo-app'),
  OWITHO_SIM_SECRET_KEY: setting.string().default('demo-secret'),
  OWITHO_SIM_UTC_TOLERANCE_MS: setting.int(0).default(300_000),
  OWITHO_SIM_TOKEN_LIFETIME_MS: setting.int(1000).default(24 * 3600 * 1000),
  OWITHO_SIM_TOKEN_OVERLAP_MS: setting.int(0).default(5 * 60_000),
  OWITHO_SIM_TOKEN_QUOTA: setting.int(1).default(2000),
  OWITHO_SIM_NOTICE_RETRY_MS: setting.int(10).default(2000),
  /** a notice not acked after this many pushes is given up (logged) */
  OWITHO_SIM_MAX_PUSHES: setting.int(1).default(10_000),
  OWITHO_SIM_DUPLICATE_RATE: setting.number(0).pipe(z.number().max(1)).default(0),
  /** share of generated orders sent in one of the tolerant forms owitho may use (order-generator.ts) */
  OWITHO_SIM_TOLERANT_SHARE: setting.number(0).pipe(z.number().max(1)).default(0),
  OWITHO_SIM_QUERY_AFTER_MS: setting.int(100).default(60_000),
  OWITHO_SIM_SEED_MACHINES: setting.int(1, 10_000).default(3),
  OWITHO_SIM_SEED_SLOTS: setting.int(1, 1000).default(12),
  /** distinct SKUs in the seed (default: as many as slots per machine) */
  OWITHO_SIM_SEED_SKUS: setting.int(1, 100_000).optional(),
  /** generated orders per second; 0 = no stream */
  OWITHO_SIM_STREAM_RATE: setting.number(0).pipe(z.number().max(10_000)).default(0),
  /** shortcuts for two start faults (merged over OWITHO_SIM_FAULTS) */
  OWITHO_SIM_ERROR_RATE: setting.number(0).pipe(z.number().max(1)).default(0),
  OWITHO_SIM_LATENCY_MS: setting.int(0, 600_000).default(0),
  OWITHO_SIM_FAULTS: faultsSetting,
});

export type OwithoSimConfig = z.infer<typeof owithoSimSettingsSchema>;

export function loadOwithoSimConfig(env: Record<string, string | undefined> = process.env): OwithoSimConfig {
  return parseSettings(owithoSimSettingsSchema, env);
}
