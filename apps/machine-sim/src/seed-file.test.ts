import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpMachineGateway } from '@owc/gateway';
import { generateFleet } from '@owc/sim-fleet';
import { afterEach, describe, expect, it } from 'vitest';
import { loadSeedFile } from './seed-file.js';
import { startMachineSim } from './start-machine-sim.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function seedFile(content: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'machine-sim-seed-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'seed.json');
  await writeFile(path, content);
  return path;
}

describe('seeding', () => {
  it('starts from a seed file: its machines, nothing else', async () => {
    const [machine] = generateFleet({ machines: 1, slotsPerMachine: 2, inventory: 1 }).machines;
    if (!machine) throw new Error('no machine generated');
    const seeded = { ...machine, machineCode: 'SEEDED-1', containerCode: '07' };
    const path = await seedFile(JSON.stringify({ machines: [seeded] }));
    const started = await startMachineSim({ seedFile: path });
    const gateway = new HttpMachineGateway({
      baseUrl: started.url,
      vendTimeoutMs: 5000,
      queryTimeoutMs: 5000,
    });
    cleanups.push(
      () => started.close(),
      () => gateway.close(),
    );
    expect(started.sim.machineCodes()).toEqual(['SEEDED-1']);
    expect(await gateway.getMachine('SEEDED-1')).toEqual(seeded);
    await expect(gateway.getMachine('M001')).resolves.toBeUndefined();
    const slot = seeded.slotList[0];
    const answer = await gateway.vend('SEEDED-1', {
      vendId: 'S-0',
      containerCode: '07',
      slotNum: slot?.slotNum ?? '',
      skuCode: slot?.skuCode ?? '',
    });
    expect(answer.status).toBe('success');
  });

  it('accepts a bare array of layouts', async () => {
    const fleet = generateFleet({ machines: 2, slotsPerMachine: 1 });
    const machines = await loadSeedFile(await seedFile(JSON.stringify(fleet.machines)));
    expect(machines.map((m) => m.machineCode)).toEqual(['M001', 'M002']);
  });

  it('refuses a seed that breaks the layout schema, naming the field', async () => {
    const fleet = generateFleet({ machines: 1, slotsPerMachine: 2 });
    const broken = structuredClone(fleet.machines);
    const slot = broken[0]?.slotList[1];
    if (slot) slot.actualPrice = '-1.5';
    await expect(loadSeedFile(await seedFile(JSON.stringify(broken)))).rejects.toThrow(
      /0\.slotList\.1\.actualPrice/,
    );
  });

  it('refuses duplicate machines and slots, and a file that is not JSON', async () => {
    const [machine] = generateFleet({ machines: 1, slotsPerMachine: 2 }).machines;
    if (!machine) throw new Error('no machine generated');
    await expect(loadSeedFile(await seedFile(JSON.stringify([machine, machine])))).rejects.toThrow(
      /1\.machineCode: duplicate machine M001/,
    );
    const twice = { ...machine, slotList: [machine.slotList[0], machine.slotList[0]] };
    await expect(loadSeedFile(await seedFile(JSON.stringify([twice])))).rejects.toThrow(
      /0\.slotList\.1\.slotNum: duplicate slot 01/,
    );
    await expect(loadSeedFile(await seedFile('{oops'))).rejects.toThrow(/seed file/);
    await expect(startMachineSim({ seedFile: '/nonexistent/seed.json' })).rejects.toThrow(/nonexistent/);
  });

  it('generates the fleet it is asked for', async () => {
    const started = await startMachineSim({ fleet: { machines: 2, slotsPerMachine: 3, inventory: 4 } });
    cleanups.push(() => started.close());
    expect(started.sim.machineCodes()).toEqual(['M001', 'M002']);
    expect(started.sim.getMachine('M002')?.slotList.map((s) => s.currentInventory)).toEqual([4, 4, 4]);
  });
});
