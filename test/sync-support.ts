import { type StartedMachineSim, startMachineSim } from '@owc/machine-sim';
import { type StartedOwithoSim, startOwithoSim } from '@owc/owitho-sim';
import { silentLogger } from '@owc/testing';
import { loadWorkerConfig, type RunningWorker, runWorker } from '@owc/worker';
import { simWorkerEnv } from './system-support.js';

export const SYNC_APP = { appId: 'app-sync', secretKey: 'sync-secret-0001' };

/** A sync worker's settings over simWorkerEnv's (tokens fetched by its own token role). */
export const SYNC_WORKER_SETTINGS: Record<string, string> = {
  WORKER_ROLES: 'token,sync',
  LOG_LEVEL: 'warn',
  JOB_LOCK_DURATION_MS: '5000',
};

export interface SyncSystem {
  owitho: StartedOwithoSim;
  machines: StartedMachineSim;
  worker?: RunningWorker;
  startWorker(extra?: Record<string, string>): Promise<RunningWorker>;
  close(): Promise<void>;
}

/** Both simulators; the in-process worker (token + sync roles) starts when the test says so. */
export async function startSyncSystem(redisUrl: string, prefix: string): Promise<SyncSystem> {
  const owitho = await startOwithoSim({
    ...SYNC_APP,
    logger: silentLogger('owitho-sim'),
  });
  const machines = await startMachineSim({ fleet: { machines: 3, slotsPerMachine: 8, inventory: 10 } });
  const system: SyncSystem = {
    owitho,
    machines,
    async startWorker(extra = {}) {
      const worker = await runWorker(
        loadWorkerConfig(
          simWorkerEnv(
            redisUrl,
            prefix,
            SYNC_APP,
            { owitho, machines },
            {
              ...SYNC_WORKER_SETTINGS,
              LOG_LEVEL: 'silent',
              ...extra,
            },
          ),
        ),
        silentLogger('worker'),
      );
      system.worker = worker;
      return worker;
    },
    async close() {
      await system.worker?.close();
      await owitho.close();
      await machines.close();
    },
  };
  return system;
}

/** How many requests reached a path of the owitho simulator, whatever the answer. */
export function requestsTo(owitho: StartedOwithoSim, path: string): number {
  return Object.values(owitho.sim.requestCounts()[path] ?? {}).reduce((a, b) => a + b, 0);
}
