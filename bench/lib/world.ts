// The system under benchmark, laid out like production: the ingress and the worker are their own
// processes (their real `main.ts`, under tsx), the outside world (owitho-sim, machine-sim) runs in
// the bench process.
import { type StartedMachineSim, startMachineSim } from '@owc/machine-sim';
import { type StartedOwithoSim, startOwithoSim } from '@owc/owitho-sim';
import { type QueueName, queuePrefix } from '@owc/queues';
import { freePort, waitFor } from '@owc/testing/kit';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { APP, type BenchChild, REDIS_URL, silent, spawnNode } from './system.js';

export interface Fleet {
  machines: number;
  slotsPerMachine: number;
  inventory: number;
  skus?: number;
}

export interface World {
  machineSim: StartedMachineSim;
  owitho: StartedOwithoSim;
  /** the ingress process, when asked for; owitho-sim pushes its notices there */
  ingress?: { app: AppChild; url: string };
  close(): Promise<void>;
}

/**
 * machine-sim (zero vend time) and owitho-sim in this process, both seeded with the same fleet;
 * with `ingress`, an ingress process in between that owitho-sim pushes order notices to.
 */
export async function startWorld(
  fleet: Fleet,
  options: {
    prefix: string;
    ingress: boolean;
    /** how long one unit takes to drop (default 0) */
    vendDurationMs?: number;
    /** notices owitho-sim keeps in flight (default 32) */
    pushConnections?: number;
    /** where owitho-sim pushes when there is no ingress of ours (the naive connector) */
    thirdUrl?: string;
    /** extra environment of the ingress (e.g. REDIS_URL of a private Redis) */
    env?: Record<string, string>;
  },
): Promise<World> {
  const machineSim = await startMachineSim({
    fleet,
    vendDurationMs: options.vendDurationMs ?? 0,
    logger: silent,
  });
  let ingress: World['ingress'];
  try {
    if (options.ingress) ingress = await spawnIngress(options.prefix, machineSim.url, options.env);
    const owitho = await startOwithoSim({
      appId: APP.appId,
      secretKey: APP.secretKey,
      thirdUrl: ingress?.url ?? options.thirdUrl,
      pushConnections: options.pushConnections,
      noticeRetryMs: 2000,
      queryAfterMs: 3_600_000,
      seed: { machines: fleet.machines, slotsPerMachine: fleet.slotsPerMachine, skus: fleet.skus },
      logger: silent,
    });
    return {
      machineSim,
      owitho,
      ingress,
      async close() {
        await owitho.close();
        await ingress?.app.stop();
        await machineSim.close();
      },
    };
  } catch (error) {
    await ingress?.app.stop();
    await machineSim.close();
    throw error;
  }
}

export interface AppChild extends BenchChild {
  pid: number;
}

function withPid(child: BenchChild): AppChild {
  const pid = child.child.pid;
  if (pid === undefined) throw new Error(`could not spawn: ${child.output()}`);
  return Object.assign(child, { pid });
}

/** The ingress (apps/ingress/src/main.ts) on a free port; resolves once /healthz answers. */
export async function spawnIngress(
  prefix: string,
  machineGatewayUrl: string,
  env: Record<string, string> = {},
): Promise<{ app: AppChild; url: string }> {
  const port = await freePort();
  const app = withPid(
    spawnNode('apps/ingress/src/main.ts', [], {
      REDIS_URL,
      KEY_PREFIX: prefix,
      OWITHO_APP_ID: APP.appId,
      MACHINE_GATEWAY_URL: machineGatewayUrl,
      ADMIN_USER: 'admin',
      ADMIN_PASSWORD: 'bench-admin',
      INGRESS_HOST: '127.0.0.1',
      INGRESS_PORT: String(port),
      ADMIN_HOST: '127.0.0.1',
      ADMIN_PORT: '0',
      LOG_LEVEL: 'warn',
      ...env,
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (app.child.exitCode !== null) throw new Error(`ingress exited:\n${app.output().slice(-4000)}`);
      try {
        return (await fetch(`${url}/healthz`)).status < 500;
      } catch {
        return false;
      }
    },
    { timeoutMs: 60_000, intervalMs: 100, what: 'the ingress to listen' },
  );
  return { app, url };
}

/** A worker (apps/worker/src/main.ts); resolves once a consumer of each queue is connected. */
export async function spawnWorker(
  prefix: string,
  world: World,
  env: Record<string, string>,
  queues: QueueName[],
): Promise<AppChild> {
  const app = withPid(
    spawnNode('apps/worker/src/main.ts', [], {
      REDIS_URL,
      KEY_PREFIX: prefix,
      OWITHO_BASE_URL: world.owitho.url,
      OWITHO_APP_ID: APP.appId,
      OWITHO_SECRET_KEY: APP.secretKey,
      MACHINE_GATEWAY_URL: world.machineSim.url,
      WORKER_METRICS_PORT: '-1',
      LOG_LEVEL: 'warn',
      ...env,
    }),
  );
  await waitForConsumers(prefix, queues, app, env.REDIS_URL);
  return app;
}

/** Waits until every queue has a connected consumer (BullMQ names its worker connections). */
export async function waitForConsumers(
  prefix: string,
  queues: QueueName[],
  app?: BenchChild,
  redisUrl = REDIS_URL,
): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const handles = queues.map(
    (name) => new Queue(name, { connection: redis, prefix: queuePrefix(prefix, name) }),
  );
  try {
    await waitFor(
      async () => {
        if (app && app.child.exitCode !== null)
          throw new Error(`worker exited:\n${app.output().slice(-4000)}`);
        const counts = await Promise.all(handles.map((q) => q.getWorkersCount()));
        return counts.every((n) => n > 0);
      },
      { timeoutMs: 60_000, intervalMs: 100, what: `consumers of ${queues.join(', ')}` },
    );
  } finally {
    await Promise.all(handles.map((q) => q.close()));
    redis.disconnect();
  }
}
