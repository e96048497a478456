import { runService } from '@owc/service';
import { loadMachineSimConfig } from './config.js';
import { startMachineSim } from './start-machine-sim.js';

await runService({
  name: 'machine-sim',
  loadConfig: () => loadMachineSimConfig(),
  logLevel: (config) => config.LOG_LEVEL,
  start: async (config, logger) => {
    const started = await startMachineSim({
      host: config.MACHINE_SIM_HOST,
      port: config.MACHINE_SIM_PORT,
      fleet: {
        machines: config.MACHINE_SIM_MACHINES,
        slotsPerMachine: config.MACHINE_SIM_SLOTS,
        inventory: config.MACHINE_SIM_INVENTORY,
      },
      ...(config.MACHINE_SIM_SEED_FILE ? { seedFile: config.MACHINE_SIM_SEED_FILE } : {}),
      ...(config.MACHINE_SIM_FAULTS ? { faults: config.MACHINE_SIM_FAULTS } : {}),
      vendDurationMs: config.MACHINE_SIM_VEND_MS,
      logger,
    });
    logger.info({ url: started.url, machines: started.sim.machineCodes() }, 'machine-sim started');
    return started;
  },
});
