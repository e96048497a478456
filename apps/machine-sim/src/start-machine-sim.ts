import { type Logger, silentLogger } from '@owc/observability';
import { describeZodError, type MachineLayout } from '@owc/protocol';
import { type FleetOptions, generateFleet } from '@owc/sim-fleet';
import { buildMachineSimApp } from './machine-sim.app.js';
import { MachineSim } from './machine-sim.js';
import { loadSeedFile, parseSeed } from './seed-file.js';
import { type StartFault, startFaultsSchema } from './sim.schema.js';

export interface MachineSimOptions {
  /** default 0: a free port */
  port?: number;
  /** default 127.0.0.1 */
  host?: string;
  /** generated machines (default 3 machines × 12 slots, inventory 10); ignored when seedFile or machines is set */
  fleet?: FleetOptions;
  /** a JSON seed of machine layouts (validated with machineLayoutSchema) */
  seedFile?: string;
  /** the machines themselves (validated like a seed file) */
  machines?: MachineLayout[];
  /** how long one unit takes to drop; default 0 */
  vendDurationMs?: number;
  /** faults in place from the start (and again after a reset) */
  faults?: StartFault[];
  logger?: Logger;
}

export interface StartedMachineSim {
  url: string;
  sim: MachineSim;
  close(): Promise<void>;
}

export const DEFAULT_FLEET: FleetOptions = { machines: 3, slotsPerMachine: 12, inventory: 10 };

/** Starts the machine gateway simulator on a socket; `close()` releases every held answer and stops. */
export async function startMachineSim(options: MachineSimOptions = {}): Promise<StartedMachineSim> {
  const logger = options.logger ?? silentLogger('machine-sim');
  const machines = options.machines
    ? parseSeed(options.machines, 'machines')
    : options.seedFile
      ? await loadSeedFile(options.seedFile)
      : generateFleet(options.fleet ?? DEFAULT_FLEET).machines;
  const faults = startFaultsSchema.safeParse(options.faults ?? []);
  if (!faults.success) throw new RangeError(describeZodError(faults.error, 'faults'));
  const vendDurationMs = options.vendDurationMs ?? 0;
  if (!Number.isSafeInteger(vendDurationMs) || vendDurationMs < 0) {
    throw new RangeError('vendDurationMs must be a non-negative integer');
  }

  const sim = new MachineSim({ machines, vendDurationMs, faults: faults.data, logger });
  const app = await buildMachineSimApp(sim, logger);
  const address = await app.listen({ port: options.port ?? 0, host: options.host ?? '127.0.0.1' });
  logger.info({ address, machines: machines.length }, 'machine simulator listening');

  let closing: Promise<void> | undefined;
  return {
    url: address,
    sim,
    close: () => {
      closing ??= (async () => {
        sim.close();
        await app.close();
      })();
      return closing;
    },
  };
}
