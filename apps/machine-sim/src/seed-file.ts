import { readFile } from 'node:fs/promises';
import { describeZodError, type MachineLayout } from '@owc/protocol';
import { seedSchema } from './sim.schema.js';

/** Reads a seed (a JSON array of machine layouts, or `{ "machines": [...] }`); throws naming the field. */
export async function loadSeedFile(path: string): Promise<MachineLayout[]> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new Error(`seed file ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return parseSeed(raw, path);
}

export function parseSeed(raw: unknown, source = 'seed'): MachineLayout[] {
  const result = seedSchema.safeParse(raw);
  if (!result.success) throw new Error(`${source}: ${describeZodError(result.error)}`);
  return result.data;
}
