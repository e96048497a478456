// The order path under load, for the order-path and machine-bound benchmarks: our connector
// (ingress + worker processes) or the naive connector (bench/lib/naive-connector.ts; with the
// callback delivered by the dispense job, the floor), each
// between owitho-sim (in this process, pushing signed notices) and machine-sim (in this process).
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { OwithoClient } from '@owc/owitho-client';
import { generateFleet } from '@owc/sim-fleet';
import { freePort, waitFor } from '@owc/testing/kit';
import { noticeFor, unitsOf } from './orders.js';
import { percentile, round } from './report.js';
import { APP, procStat, spawnNode } from './system.js';
import { type AppChild, type Fleet, spawnIngress, spawnWorker, startWorld, type World } from './world.js';

export const FLEET: Fleet = { machines: 200, slotsPerMachine: 12, inventory: 100_000 };
const layouts = generateFleet(FLEET).machines;

export interface System {
  name: 'connector' | 'naive' | 'floor';
  world: World;
  /** where owitho-sim pushes the notices (the system's ingress) */
  noticeUrl: string;
  /** the processes of the system itself (not the simulators) */
  pids: Record<string, number>;
  /** the last lines the system's processes wrote (for a run that did not finish) */
  output(): string;
  stop(): Promise<void>;
}

export interface SystemOptions {
  prefix: string;
  redisUrl: string;
  vendDurationMs: number;
  /** notices owitho-sim keeps in flight */
  inFlight: number;
  /** extra worker settings (ours); none = the worker's defaults */
  workerEnv?: Record<string, string>;
  /** worker processes (ours) */
  workers?: number;
  /** the naive connector's consumers */
  naiveConcurrency?: { dispense: number; callback: number };
  /**
   * how the naive connector delivers the callback: `job` (default: a callback job per order) or
   * `inline` (the dispense job delivers it; a callback job only when owitho does not take it):
   * the floor, one BullMQ job per order like ours
   */
  naiveCallback?: 'job' | 'inline';
  /** the naive connector's Redis connections coalesce one event-loop turn's writes, as ours do */
  naiveCoalesceWrites?: boolean;
}

/**
 * The simulators of a run, for every system in turn (`startConnector` and `startNaive` with
 * `shared`): the bench process's code then warms up once. A fresh pair per system (new Fastify
 * apps and pools) had V8 optimise their paths again, which the first systems measured paid for.
 */
export function startSharedWorld(options: Pick<SystemOptions, 'prefix' | 'vendDurationMs' | 'inFlight'>) {
  return startWorld(FLEET, {
    prefix: options.prefix,
    ingress: false,
    vendDurationMs: options.vendDurationMs,
    pushConnections: options.inFlight,
  });
}

/**
 * A system's view of the shared simulators: the machines back to their seed (their overlap and
 * double-vend counts are this system's), owitho's live tokens revoked (the system's own fetch
 * is the only one it signs with) and its pushes sent to `thirdUrl`; closing it leaves them up.
 */
async function joinWorld(shared: World, thirdUrl: string, ingress?: World['ingress']): Promise<World> {
  shared.machineSim.sim.reset();
  shared.owitho.sim.revokeCurrentToken();
  await shared.owitho.sim.retarget(thirdUrl);
  return {
    machineSim: shared.machineSim,
    owitho: shared.owitho,
    ingress,
    close: async () => {
      await ingress?.app.stop();
    },
  };
}

export async function startConnector(options: SystemOptions, shared?: World): Promise<System> {
  const env = { REDIS_URL: options.redisUrl };
  let world: World;
  if (shared) {
    const ingress = await spawnIngress(options.prefix, shared.machineSim.url, env);
    world = await joinWorld(shared, ingress.url, ingress).catch(async (error: unknown) => {
      await ingress.app.stop();
      throw error;
    });
  } else {
    world = await startWorld(FLEET, {
      prefix: options.prefix,
      ingress: true,
      vendDurationMs: options.vendDurationMs,
      pushConnections: options.inFlight,
      env,
    });
  }
  const fetchesBefore = world.owitho.sim.tokenFetchCount();
  const workers: AppChild[] = [];
  try {
    for (let w = 0; w < (options.workers ?? 1); w++) {
      workers.push(
        await spawnWorker(
          options.prefix,
          world,
          {
            ...env,
            WORKER_ROLES: w === 0 ? 'token,dispense,callback' : 'dispense,callback',
            ...options.workerEnv,
          },
          ['dispense', 'callback'],
        ),
      );
    }
    await waitFor(() => world.owitho.sim.tokenFetchCount() > fetchesBefore, {
      what: 'the worker to fetch a token',
    });
  } catch (error) {
    await Promise.all(workers.map((w) => w.stop()));
    await world.close();
    throw error;
  }
  const pids: Record<string, number> = { ingress: world.ingress?.app.pid ?? 0 };
  workers.forEach((w, i) => {
    pids[i === 0 ? 'worker' : `worker${i + 1}`] = w.pid;
  });
  return {
    name: 'connector',
    world,
    noticeUrl: world.ingress?.url ?? '',
    pids,
    output: () =>
      [world.ingress?.app.output() ?? '', ...workers.map((w) => w.output())]
        .map((o) => o.slice(-3000))
        .join('\n'),
    async stop() {
      await Promise.all(workers.map((w) => w.stop()));
      await world.close();
    },
  };
}

export async function startNaive(options: SystemOptions, shared?: World): Promise<System> {
  const port = await freePort();
  const world = shared
    ? await joinWorld(shared, `http://127.0.0.1:${port}`)
    : await startWorld(FLEET, {
        prefix: options.prefix,
        ingress: false,
        vendDurationMs: options.vendDurationMs,
        pushConnections: options.inFlight,
        thirdUrl: `http://127.0.0.1:${port}`,
      });
  const children: AppChild[] = [];
  try {
    // the naive connector fetches its token once and keeps it
    const client = new OwithoClient({
      baseUrl: world.owitho.url,
      appId: APP.appId,
      secretKey: APP.secretKey,
      connectTimeoutMs: 3000,
      headersTimeoutMs: 5000,
      bodyTimeoutMs: 5000,
    });
    const { accessToken } = await client.getAccessToken();
    await client.close();
    const concurrency = options.naiveConcurrency ?? { dispense: 50, callback: 32 };
    const spawnChild = async (args: string[]) => {
      const child = spawnNode(
        'bench/lib/naive-connector.ts',
        options.naiveCoalesceWrites ? [...args, '--coalesce-writes'] : args,
      );
      const { pid } = await child.line<{ pid: number }>('ready');
      const app = Object.assign(child, { pid });
      children.push(app);
      return app;
    };
    const ingress = await spawnChild([
      'ingress',
      options.redisUrl,
      options.prefix,
      String(port),
      accessToken,
    ]);
    const worker = await spawnChild([
      'worker',
      options.redisUrl,
      options.prefix,
      world.machineSim.url,
      world.owitho.url,
      accessToken,
      String(concurrency.dispense),
      String(concurrency.callback),
      options.naiveCallback ?? 'job',
    ]);
    return {
      name: options.naiveCallback === 'inline' ? 'floor' : 'naive',
      world,
      noticeUrl: `http://127.0.0.1:${port}`,
      pids: { ingress: ingress.pid, worker: worker.pid },
      output: () => children.map((c) => c.output().slice(-3000)).join('\n'),
      async stop() {
        await Promise.all(children.map((c) => c.stop()));
        await world.close();
      },
    };
  } catch (error) {
    await Promise.all(children.map((c) => c.stop()));
    await world.close();
    throw error;
  }
}

export interface Driver {
  /** pushes one order (round-robin over the fleet, 1–3 units); returns its id */
  push(tag: string): string;
  calledBack(ids: readonly string[]): number;
  /** waits until every id has a callback */
  settle(ids: readonly string[], timeoutMs: number): Promise<boolean>;
  /** how many of `ids` were acked (200) by the connector */
  acked(ids: readonly string[]): number;
  measure(ids: readonly string[], startedAt: number): BurstFigures;
}

export interface BurstFigures {
  orders: number;
  units: number;
  unitsVended: number;
  seconds: number;
  ordersPerSec: number;
  noticesPerSec: number;
  latency: { p50Ms: number; p99Ms: number; maxMs: number };
  noticeRePushes: number;
}

export function latencySummary(latencies: number[]) {
  const sorted = [...latencies].sort((a, b) => a - b);
  return { p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), maxMs: sorted.at(-1) ?? Number.NaN };
}

/** A fixed scatter of order numbers over the fleet (an integer hash): some machines get more orders than others, as in life. */
export function machineOf(i: number): number {
  let x = (i + 0x9e3779b9) | 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return (x >>> 0) % layouts.length;
}

/** `idPrefix`: what sets this system's order ids apart when the simulators are shared */
export function driverFor(world: World, idPrefix = ''): Driver {
  // every system gets the same orders: numbered from 0 by each driver
  let seq = 0;
  const sim = world.owitho.sim;
  const state = (id: string) => sim.order(id);
  const calledBack = (ids: readonly string[]) =>
    ids.reduce((n, id) => n + ((state(id)?.callbacks.length ?? 0) > 0 ? 1 : 0), 0);
  return {
    push(tag) {
      const i = seq++;
      const layout = layouts[machineOf(i)];
      if (!layout) throw new Error('no layout');
      const id = `${idPrefix}${tag}${i}`;
      sim.pushOrder(noticeFor(id, layout, i));
      return id;
    },
    calledBack,
    acked: (ids) => ids.reduce((n, id) => n + (state(id)?.ackedAt ? 1 : 0), 0),
    settle: (ids, timeoutMs) =>
      waitFor(() => calledBack(ids) === ids.length, {
        timeoutMs,
        intervalMs: 50,
        what: 'a callback for every order',
      }).then(
        () => true,
        () => false,
      ),
    measure(ids, startedAt) {
      const done = ids.filter((id) => (state(id)?.callbacks.length ?? 0) > 0);
      const lastCallback = Math.max(...done.map((id) => state(id)?.callbacks[0]?.at ?? 0));
      const lastAck = Math.max(...ids.map((id) => state(id)?.ackedAt ?? 0));
      const seconds = (lastCallback - startedAt) / 1000;
      return {
        orders: done.length,
        units: done.reduce((n, id) => {
          const notice = state(id)?.notice;
          return n + (notice ? unitsOf(notice) : 0);
        }, 0),
        unitsVended: done.reduce(
          (n, id) =>
            n + (state(id)?.callbacks[0]?.payload.outDetailList.filter((d) => d.status === 200).length ?? 0),
          0,
        ),
        seconds: round(seconds, 2),
        ordersPerSec: round(done.length / seconds, 1),
        noticesPerSec: round(ids.length / ((lastAck - startedAt) / 1000), 1),
        latency: latencySummary(
          done.map((id) => (state(id)?.callbacks[0]?.at ?? 0) - (state(id)?.lastPushAt ?? 0)),
        ),
        noticeRePushes: ids.reduce((n, id) => n + Math.max(0, (state(id)?.pushes ?? 1) - 1), 0),
      };
    },
  };
}

/** Each machine's own vending time (ms, from the gateway's ledger): what no connector can beat. */
export function vendingMsByMachine(world: World): Map<string, number> {
  const byMachine = new Map<string, number>();
  for (const entry of world.machineSim.sim.ledger()) {
    byMachine.set(
      entry.machineCode,
      (byMachine.get(entry.machineCode) ?? 0) + (entry.finishedAt - entry.startedAt),
    );
  }
  return byMachine;
}

/** Pushes `rate` orders per second for `seconds`, in 50 ms ticks. */
export async function pushPaced(
  driver: Driver,
  tag: string,
  rate: number,
  seconds: number,
): Promise<string[]> {
  const ids: string[] = [];
  const start = Date.now();
  while (Date.now() - start < seconds * 1000) {
    const owed = Math.floor(((Date.now() - start) / 1000) * rate) - ids.length;
    for (let k = 0; k < owed; k++) ids.push(driver.push(tag));
    await sleep(50);
  }
  return ids;
}

export interface CpuWatch {
  stop(): Record<string, number>;
}

/** CPU ms used by each process between now and stop(); `bench` is this process (the simulators). */
export function watchCpu(pids: Record<string, number>): CpuWatch {
  const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, procStat(pid).cpuMs]));
  const self = process.cpuUsage();
  return {
    stop() {
      const used: Record<string, number> = {};
      for (const [k, pid] of Object.entries(pids)) used[k] = procStat(pid).cpuMs - (before[k] ?? 0);
      const mine = process.cpuUsage(self);
      used.bench = Math.round((mine.user + mine.system) / 1000);
      return used;
    },
  };
}

export function perOrder(cpu: Record<string, number>, orders: number): Record<string, number> {
  return Object.fromEntries(Object.entries(cpu).map(([k, ms]) => [k, round(ms / orders, 3)]));
}

export function rssOf(pids: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, procStat(pid).rssMb]));
}

export interface ConnectionWatch {
  stop(): Record<string, number>;
}

/**
 * TCP connections this process opens to or accepts on each named port between now and stop():
 * what the system under test costs its peers in connection set-ups (a socket accepted or
 * connected, its parser and timers), besides its requests.
 */
export function watchConnections(ports: Record<string, number>): ConnectionWatch {
  const names = new Map(Object.entries(ports).map(([name, port]) => [port, name]));
  const counts: Record<string, number> = Object.fromEntries(Object.keys(ports).map((name) => [name, 0]));
  const count = (port: number | undefined) => {
    const name = port === undefined ? undefined : names.get(port);
    if (name !== undefined) counts[name] = (counts[name] ?? 0) + 1;
  };
  const accepted = (message: unknown) => count((message as { socket: Socket }).socket.localPort);
  const connecting = (message: unknown) => {
    const { socket } = message as { socket: Socket };
    socket.once('connect', () => count(socket.remotePort));
  };
  subscribe('net.server.socket', accepted);
  subscribe('net.client.socket', connecting);
  return {
    stop() {
      unsubscribe('net.server.socket', accepted);
      unsubscribe('net.client.socket', connecting);
      return { ...counts };
    },
  };
}

export function portOf(url: string): number {
  const parsed = new URL(url);
  return Number(parsed.port || (parsed.protocol === 'https:' ? 443 : 80));
}

export interface SelfProfile {
  /** writes `<dir>/<name>.cpuprofile` and returns its path */
  stop(name: string): Promise<string>;
}

/** A V8 CPU profile of this process (the simulators and the driver), for bench/lib/cpu-profile.ts. */
export async function profileSelf(dir: string): Promise<SelfProfile> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async stop(name) {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `${name}.cpuprofile`);
      writeFileSync(file, JSON.stringify(profile));
      return file;
    },
  };
}
