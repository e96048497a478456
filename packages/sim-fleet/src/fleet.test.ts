import { machineLayoutSchema, skuSchema } from '@owc/protocol';
import { describe, expect, it } from 'vitest';
import { generateFleet } from './fleet.js';

describe('generateFleet', () => {
  it('is deterministic and valid against the protocol schemas', () => {
    const a = generateFleet({ machines: 3, slotsPerMachine: 8, skus: 5 });
    const b = generateFleet({ machines: 3, slotsPerMachine: 8, skus: 5 });
    expect(a).toEqual(b);
    expect(a.machines.map((m) => m.machineCode)).toEqual(['M001', 'M002', 'M003']);
    for (const sku of a.skus) expect(skuSchema.safeParse(sku).success).toBe(true);
    for (const machine of a.machines) expect(machineLayoutSchema.safeParse(machine).success).toBe(true);
    expect(a.machines[0]?.slotList[7]).toMatchObject({ slotNum: '08', row: 2, col: 2 });
  });
});
