import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { type RunningIngress, startIngress } from '@owc/ingress';
import { testConfig } from '@owc/ingress/test-kit';
import { type MachineSimOptions, type StartedMachineSim, startMachineSim } from '@owc/machine-sim';
import { Registry, type Tracing } from '@owc/observability';
import type { OrderStore } from '@owc/order-store';
import { OwithoClient } from '@owc/owitho-client';
import { type OwithoSimOptions, type StartedOwithoSim, startOwithoSim } from '@owc/owitho-sim';
import { silentLogger } from '@owc/testing';
import { TokenKeeper, tokenMetrics } from '@owc/token';
import { loadWorkerConfig, type RunningWorker, runWorker } from '@owc/worker';
import { Redis } from 'ioredis';

/** how often a wait loop looks again (each loop has its own deadline) */
const POLL_MS = 100;

const ROOT = resolve(import.meta.dirname, '..');

/** One app process (`apps/<app>/src/main.ts` under tsx) started by a test. */
export interface AppProcess {
  name: string;
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** sends the signal (SIGTERM unless told) and waits for the exit */
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnApp(
  app: 'worker' | 'ingress' | 'owitho-sim' | 'machine-sim',
  env: Record<string, string>,
): AppProcess {
  const child = spawn(
    process.execPath,
    ['--conditions=@owc/source', '--import', 'tsx', `apps/${app}/src/main.ts`],
    {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const chunks: string[] = [];
  const keep = (chunk: Buffer) => {
    chunks.push(chunk.toString());
    if (chunks.length > 2000) chunks.splice(0, 1000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once('exit', (code, signal) => done({ code, signal })),
  );
  return {
    name: app,
    child,
    output: () => chunks.join(''),
    exited,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/**
 * Resolves once `url` answers below 500. The default wait is generous: a process started from
 * source under tsx on a loaded 2-core machine has taken over 30 s to listen.
 */
export async function waitHttp(url: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url);
      if (res.status < 500) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/**
 * A worker's settings against the two simulators: token, dispense and callback roles, no metrics
 * port, silent; `extra` over them.
 */
export function simWorkerEnv(
  redisUrl: string,
  prefix: string,
  app: { appId: string; secretKey: string },
  sims: { owitho: { url: string }; machines: { url: string } },
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    REDIS_URL: redisUrl,
    KEY_PREFIX: prefix,
    OWITHO_BASE_URL: sims.owitho.url,
    OWITHO_APP_ID: app.appId,
    OWITHO_SECRET_KEY: app.secretKey,
    MACHINE_GATEWAY_URL: sims.machines.url,
    WORKER_ROLES: 'token,dispense,callback',
    WORKER_METRICS_PORT: '-1',
    LOG_LEVEL: 'silent',
    ...extra,
  };
}

/** The owitho app both simulated sides share unless a test names its own. */
export const SYSTEM_APP = { appId: 'app-system', secretKey: 'system-secret-0001' };

export interface SystemOptions {
  /** the owitho app: appId and secret shared by owitho-sim, the ingress and the worker */
  app?: { appId: string; secretKey: string };
  /** the fleet both simulators know (machine-sim serves it, owitho-sim orders from it) */
  seed?: { machines: number; slotsPerMachine: number };
  /** units per slot in machine-sim (default 100) */
  inventory?: number;
  /** how long one unit takes to drop (default 2 ms) */
  vendDurationMs?: number;
  /** machine-sim options over those (e.g. `machines`: layouts of the test's own) */
  machineSim?: Partial<MachineSimOptions>;
  /** a machine-sim the test started itself (and closes), e.g. to put something in front of it */
  machines?: StartedMachineSim;
  /** ingress settings over the test ones (@owc/ingress/test-kit's, pointed at machine-sim) */
  ingressEnv?: Record<string, string>;
  /** owitho-sim options over these: pushes to the ingress, re-pushes after 200 ms, never asks order/query */
  owitho?: Partial<OwithoSimOptions>;
  /** worker settings over these: token, dispense and callback roles, no metrics port, silent */
  workerEnv?: Record<string, string>;
  /** tracing for the ingress and the worker (off when undefined) */
  tracing?: Tracing;
}

/** The whole order path in this process: machine-sim, ingress, owitho-sim pushing to it, a worker. */
export interface System {
  app: { appId: string; secretKey: string };
  machines: StartedMachineSim;
  ingress: RunningIngress;
  owitho: StartedOwithoSim;
  worker: RunningWorker;
  /** the worker's order store (the same Redis and prefix as the ingress's) */
  store: OrderStore;
  /** owitho-sim first (no more pushes), then the worker, the ingress and machine-sim (unless the test's own) */
  close(): Promise<void>;
}

/**
 * Starts what the end-to-end tests run against, in the order each needs the one before: machine-sim,
 * the ingress (reads machines from it), owitho-sim (pushes to the ingress), the worker (calls both
 * simulators). A start that fails closes what had started.
 */
export async function startSystem(redisUrl: string, prefix: string, options: SystemOptions): Promise<System> {
  const app = options.app ?? SYSTEM_APP;
  const started: { close(): Promise<void> }[] = [];
  const closeStarted = async () => {
    for (const piece of started.reverse()) await piece.close();
  };
  try {
    const machines =
      options.machines ??
      (await startMachineSim({
        ...(options.seed ? { fleet: { ...options.seed, inventory: options.inventory ?? 100 } } : {}),
        vendDurationMs: options.vendDurationMs ?? 2,
        ...options.machineSim,
      }));
    if (!options.machines) started.push(machines);
    const ingress = await startIngress(
      testConfig(redisUrl, prefix, {
        OWITHO_APP_ID: app.appId,
        MACHINE_GATEWAY_URL: machines.url,
        ...options.ingressEnv,
      }),
      silentLogger('ingress'),
      { tracing: options.tracing },
    );
    started.push(ingress);
    const owitho = await startOwithoSim({
      ...app,
      thirdUrl: ingress.url,
      noticeRetryMs: 200,
      queryAfterMs: 3_600_000,
      seed: options.seed,
      logger: silentLogger('owitho-sim'),
      ...options.owitho,
    });
    started.push(owitho);
    const worker = await runWorker(
      loadWorkerConfig(simWorkerEnv(redisUrl, prefix, app, { owitho, machines }, options.workerEnv)),
      silentLogger('worker'),
      options.tracing,
    );
    return {
      app,
      machines,
      ingress,
      owitho,
      worker,
      store: worker.context.store,
      async close() {
        await owitho.close();
        await worker.close();
        await ingress.close();
        if (!options.machines) await machines.close();
      },
    };
  } catch (error) {
    await closeStarted();
    throw error;
  }
}

/**
 * The worker's token role alone, in this process: fetches the access token from owitho-sim and
 * keeps it in Redis, where the ingress reads it. For tests that run the ingress without a worker.
 */
export async function startTokenRole(
  redisUrl: string,
  prefix: string,
  owitho: { url: string },
  app: { appId: string; secretKey: string },
): Promise<{ keeper: TokenKeeper; close(): Promise<void> }> {
  const client = new OwithoClient({
    baseUrl: owitho.url,
    ...app,
    connectTimeoutMs: 2000,
    headersTimeoutMs: 5000,
    bodyTimeoutMs: 5000,
  });
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const keeper = new TokenKeeper({
    redis,
    keyPrefix: prefix,
    fetchToken: () => client.getAccessToken(),
    overlapMs: 60_000,
    refreshMarginMs: 60_000,
    dailyQuota: 100,
    quotaWarnShare: 0.8,
    cacheMs: 0,
    metrics: tokenMetrics(new Registry()),
  });
  return {
    keeper,
    async close() {
      await client.close();
      redis.disconnect();
    },
  };
}
