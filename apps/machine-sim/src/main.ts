import { ConfigError } from '@owc/config';
import { createLogger } from '@owc/observability';
import { loadMachineSimConfig, type MachineSimConfig } from './config.js';
import { startMachineSim } from './start-machine-sim.js';

async function main(): Promise<void> {
  let config: MachineSimConfig;
  try {
    config = loadMachineSimConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`machine-sim: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger({ level: config.LOG_LEVEL, name: 'machine-sim', pretty: process.stdout.isTTY });
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

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    started.close().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(
    `machine-sim: failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
