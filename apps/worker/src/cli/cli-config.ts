import { logSettingsShape, orderStoreSettingsShape, parseSettings, redisSettingsShape } from '@owc/config';
import { z } from 'zod';
import { workerSettingsSchema } from '../config.js';

/**
 * The settings `pnpm cli` reads: only where Redis is and the key prefix (plus the worker's
 * defaults for what the commands compute with). No owitho secret, no gateway: the CLI talks to
 * Redis alone; a replayed callback is delivered by the callback role.
 */
export const cliSettingsSchema = z.object({
  ...redisSettingsShape,
  ...logSettingsShape,
  ...orderStoreSettingsShape,
  STUCK_ORDER_AFTER_MS: workerSettingsSchema.shape.STUCK_ORDER_AFTER_MS,
  CALLBACK_SCHEDULE_MS: workerSettingsSchema.shape.CALLBACK_SCHEDULE_MS,
});

export type CliConfig = z.infer<typeof cliSettingsSchema>;

export function loadCliConfig(env: Record<string, string | undefined> = process.env): CliConfig {
  return parseSettings(cliSettingsSchema, env);
}
