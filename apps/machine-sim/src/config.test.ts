import { ConfigError } from '@owc/config';
import { describe, expect, it } from 'vitest';
import { loadMachineSimConfig } from './config.js';

describe('machine-sim config', () => {
  it('has the documented defaults', () => {
    expect(loadMachineSimConfig({})).toEqual({
      LOG_LEVEL: 'info',
      MACHINE_SIM_HOST: '0.0.0.0',
      MACHINE_SIM_PORT: 4100,
      MACHINE_SIM_MACHINES: 3,
      MACHINE_SIM_SLOTS: 12,
      MACHINE_SIM_INVENTORY: 10,
      MACHINE_SIM_VEND_MS: 200,
    });
  });

  it('reads every setting', () => {
    const config = loadMachineSimConfig({
      MACHINE_SIM_PORT: '0',
      MACHINE_SIM_MACHINES: '5',
      MACHINE_SIM_SLOTS: '4',
      MACHINE_SIM_INVENTORY: '0',
      MACHINE_SIM_VEND_MS: '0',
      MACHINE_SIM_SEED_FILE: '/tmp/seed.json',
      MACHINE_SIM_FAULTS: '[{"machineCode":"M002","machineStatus":20,"jammedSlots":["01"]}]',
    });
    expect(config).toMatchObject({
      MACHINE_SIM_PORT: 0,
      MACHINE_SIM_MACHINES: 5,
      MACHINE_SIM_SLOTS: 4,
      MACHINE_SIM_INVENTORY: 0,
      MACHINE_SIM_VEND_MS: 0,
      MACHINE_SIM_SEED_FILE: '/tmp/seed.json',
      MACHINE_SIM_FAULTS: [{ machineCode: 'M002', machineStatus: 20, jammedSlots: ['01'] }],
    });
  });

  it.each([
    ['MACHINE_SIM_PORT', '70000'],
    ['MACHINE_SIM_MACHINES', '0'],
    ['MACHINE_SIM_SLOTS', 'twelve'],
    ['MACHINE_SIM_VEND_MS', '-1'],
    ['MACHINE_SIM_FAULTS', '{not json'],
    ['MACHINE_SIM_FAULTS', '[{"machineCode":"M001","machineStatus":15}]'],
  ])('refuses a bad %s, naming it', (name, value) => {
    expect(() => loadMachineSimConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadMachineSimConfig({ [name]: value })).toThrow(name);
  });
});
