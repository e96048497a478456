import { logSettingsShape, parseSettings, setting } from '@owc/config';
import { z } from 'zod';
import { startFaultsSchema } from './sim.schema.js';

/** MACHINE_SIM_FAULTS: a JSON array of start faults, e.g. `[{"machineCode":"M002","machineStatus":20}]`. */
const faultsSetting = setting.json(startFaultsSchema, 'a JSON array of faults');

export const machineSimSettingsSchema = z.object({
  ...logSettingsShape,
  MACHINE_SIM_HOST: setting.string().default('0.0.0.0'),
  MACHINE_SIM_PORT: setting.port().default(4100),
  MACHINE_SIM_MACHINES: setting.int(1, 10_000).default(3),
  MACHINE_SIM_SLOTS: setting.int(1, 1000).default(12),
  MACHINE_SIM_INVENTORY: setting.int(0, 1_000_000).default(10),
  /** how long one unit takes to drop */
  MACHINE_SIM_VEND_MS: setting.int(0, 600_000).default(200),
  /** a JSON seed of machine layouts; when set, replaces the generated fleet */
  MACHINE_SIM_SEED_FILE: setting.string().optional(),
  MACHINE_SIM_FAULTS: faultsSetting,
});

export type MachineSimConfig = z.infer<typeof machineSimSettingsSchema>;

export function loadMachineSimConfig(
  env: Record<string, string | undefined> = process.env,
): MachineSimConfig {
  return parseSettings(machineSimSettingsSchema, env);
}
