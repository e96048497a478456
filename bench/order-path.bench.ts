// The order path against a naive connector, in the same run, under the same load: owitho-sim pushes
// N signed notices (64 in flight) for 200 machines with instant vends; the naive connector
// (bench/lib/naive-connector.ts: Fastify + queue.add with a jobId, a worker that vends and enqueues
// the callback, a callback worker; no order store, no lease, no ask-before-retry) and ours (the
// ingress and the worker with its default settings) each get the same burst and then a paced phase
// at half our burst rate. After them the floor (BENCH_ORDER_PATH_FLOOR, default on): the naive
// connector with the callback delivered by the dispense job, one BullMQ job per order like ours, no
// store, no lease, no asking; its burst only (no paced phase). Every system talks to the same pair
// of simulators (owitho-sim re-targeted, machine-sim reset, each system's own order ids), warmed
// up first by a throwaway floor system (BENCH_ORDER_PATH_BENCH_WARMUP). All run
// on a private redis-server, so INFO commandstats (Lua-internal calls included), its CPU and its
// memory count only this benchmark.

import {
  driverFor,
  perOrder,
  portOf,
  profileSelf,
  pushPaced,
  rssOf,
  type System,
  type SystemOptions,
  startConnector,
  startNaive,
  startSharedWorld,
  watchConnections,
  watchCpu,
} from './lib/order-path.js';
import { commandDelta, type PrivateRedis, startPrivateRedis } from './lib/private-redis.js';
import { report, round } from './lib/report.js';
import { benchPrefix, envNumber, machineLoad, procStat, SCALE } from './lib/system.js';
import type { World } from './lib/world.js';

const N = Math.round(envNumber('BENCH_ORDER_PATH_ORDERS', 1000) * SCALE);
const IN_FLIGHT = envNumber('BENCH_ORDER_PATH_IN_FLIGHT', 64);
const PACE_SECONDS = envNumber('BENCH_PIPELINE_PACE_SECONDS', 8);
/**
 * worker processes of ours; a list (`1,2`) runs ours once per count in this run, for the
 * scale-out figure (orders/s of each count ÷ the first's); the naive ratio uses the first
 */
const WORKER_COUNTS = (process.env.BENCH_ORDER_PATH_WORKERS ?? '1').split(',').map((w) => {
  const n = Number(w.trim());
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`BENCH_ORDER_PATH_WORKERS: expected counts like 1,2, got "${w}"`);
  return n;
});
const WORKERS = WORKER_COUNTS[0] ?? 1;
/** worker settings other than the defaults (`NAME=value,…`), for measuring them */
const WORKER_ENV = Object.fromEntries(
  (process.env.BENCH_ORDER_PATH_WORKER_ENV ?? '')
    .split(',')
    .map((pair) => pair.trim())
    .filter(Boolean)
    .map((pair) => {
      const at = pair.indexOf('=');
      if (at <= 0) throw new Error(`BENCH_ORDER_PATH_WORKER_ENV: expected NAME=value, got "${pair}"`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
);
/**
 * 0: no floor run (the naive connector with the callback delivered by the dispense job); 2: also
 * the floor with ours's coalesced Redis writes (`floorCoalesced`)
 */
const FLOOR_RUNS = envNumber('BENCH_ORDER_PATH_FLOOR', 1);
const FLOOR = FLOOR_RUNS !== 0;
/**
 * a directory: this process (the simulators and the driver) profiles itself during each burst and
 * writes `bench-<n>-<system>.cpuprofile` there (the profiler's own cost lands in its CPU figure)
 */
const PROFILE_DIR = process.env.BENCH_ORDER_PATH_PROFILE || undefined;
let profiled = 0;
const WARMUP = 100;
/**
 * orders through a throwaway floor system before anything is measured, to warm the bench process
 * (the simulators and the driver) up: its CPU per order settles only after a few thousand orders
 * (0.7 ms per order in the first burst, 0.25–0.4 from the third on), which was charged to whichever
 * system went first (ours); 0: none
 */
const BENCH_WARMUP = envNumber('BENCH_ORDER_PATH_BENCH_WARMUP', 3000);
const TIMEOUT_MS = 60_000;

/** systems measured so far: each one's order ids start with its own letter (the simulators are shared) */
let systemsRun = 0;

async function run(
  system: System,
  redis: PrivateRedis,
  /** notices per second of the paced phase: undefined = half this burst's rate; null = no paced phase */
  paceRate: number | null | undefined,
): Promise<Record<string, unknown> & { ordersPerSec: number; cpuMsPerOrder: Record<string, number> }> {
  const driver = driverFor(system.world, String.fromCharCode(65 + systemsRun++));
  // from the warm-up on: the connections the system makes to the simulators and takes from owitho-sim
  const connections = watchConnections({
    machineSim: portOf(system.world.machineSim.url),
    owitho: portOf(system.world.owitho.url),
    ingress: portOf(system.noticeUrl),
  });
  const warm = Array.from({ length: WARMUP }, () => driver.push('W'));
  if (!(await driver.settle(warm, 60_000))) {
    throw new Error(
      `${system.name}: the warm-up did not finish: ${driver.acked(warm)} acked, ${driver.calledBack(warm)} called back\n${system.output()}`,
    );
  }

  const commandsBefore = await redis.commandCalls();
  const profile = PROFILE_DIR ? await profileSelf(PROFILE_DIR) : undefined;
  const cpu = watchCpu({ ...system.pids, redis: redis.pid });
  const startedAt = Date.now();
  const ids = Array.from({ length: N }, () => driver.push('P'));
  const finished = await driver.settle(ids, TIMEOUT_MS);
  if (!finished) {
    process.stderr.write(
      `${system.name}: ${driver.acked(ids)} acked, ${driver.calledBack(ids)} called back of ${ids.length}\n${system.output()}\n`,
    );
  }
  const cpuMs = cpu.stop();
  if (profile) {
    const file = await profile.stop(`bench-${++profiled}-${system.name}`);
    process.stderr.write(`bench process profile: ${file}\n`);
  }
  const commands = commandDelta(commandsBefore, await redis.commandCalls());
  const burst = driver.measure(ids, startedAt);

  // notice → callback at half our burst rate (the same rate for both systems)
  const rate = paceRate === null ? undefined : (paceRate ?? Math.max(1, Math.round(burst.ordersPerSec / 2)));
  const pacedIds = rate === undefined ? [] : await pushPaced(driver, 'L', rate, PACE_SECONDS);
  await driver.settle(pacedIds, 30_000);
  const paced = rate === undefined ? undefined : driver.measure(pacedIds, 0);
  const machines = system.world.machineSim.sim;
  return {
    finished,
    ...burst,
    commandsPerOrder: round(commands.total / burst.orders, 1),
    commandsTop: Object.fromEntries(
      Object.entries(commands.byCommand)
        .slice(0, 12)
        .map(([name, calls]) => [name, round(calls / burst.orders, 2)]),
    ),
    cpuMsPerOrder: perOrder(cpuMs, burst.orders),
    ...(paced ? { pacedRatePerSec: rate, pacedOrders: pacedIds.length, pacedLatency: paced.latency } : {}),
    connectionsOpened: connections.stop(),
    overlaps: machines.overlaps().total,
    doubleVends: machines.stats().doubleVends,
    rssMbAfter: rssOf(system.pids),
  };
}

const { prefix, cleanup } = benchPrefix('op');
const redis = await startPrivateRedis();
let shared: World | undefined;
try {
  const loadBefore = machineLoad();
  const options = (name: string, workers = WORKERS): SystemOptions => ({
    prefix: `${prefix}-${name}`,
    redisUrl: redis.url,
    vendDurationMs: 0,
    inFlight: IN_FLIGHT,
    workers,
    workerEnv: WORKER_ENV,
  });
  // one pair of simulators for every system: with a new pair per system (new Fastify apps and
  // pools) the bench process's CPU per order fell with each system (0.78, 0.63, 0.36, 0.30 ms for
  // ours four times), which the first systems measured paid for
  shared = await startSharedWorld({ prefix, vendDurationMs: 0, inFlight: IN_FLIGHT });
  if (BENCH_WARMUP > 0) {
    // fresh processes for every measured system: only this one, the simulators' code, stays warm
    const warmSystem = await startNaive({ ...options('warm'), naiveCallback: 'inline' }, shared);
    try {
      const driver = driverFor(warmSystem.world, 'Z');
      const ids = Array.from({ length: BENCH_WARMUP }, () => driver.push('B'));
      if (!(await driver.settle(ids, 60_000 + BENCH_WARMUP * 20)))
        throw new Error(`the bench warm-up did not finish\n${warmSystem.output()}`);
    } finally {
      await warmSystem.stop();
    }
  }
  const runs: Awaited<ReturnType<typeof run>>[] = [];
  for (const [i, workers] of WORKER_COUNTS.entries()) {
    // a prefix per run: a count named twice (`1,1`) must not find the first run's token in Redis
    const connector = await startConnector(options(`ours-${i}-${workers}w`, workers), shared);
    try {
      runs.push(await run(connector, redis, undefined));
    } finally {
      await connector.stop();
    }
  }
  const [ours] = runs;
  if (!ours) throw new Error('BENCH_ORDER_PATH_WORKERS names no worker count');
  const naiveSystem = await startNaive(options('naive'), shared);
  let naive: Awaited<ReturnType<typeof run>>;
  try {
    naive = await run(naiveSystem, redis, Number(ours.pacedRatePerSec));
  } finally {
    await naiveSystem.stop();
  }
  let floor: Awaited<ReturnType<typeof run>> | undefined;
  if (FLOOR) {
    const floorSystem = await startNaive({ ...options('floor'), naiveCallback: 'inline' }, shared);
    try {
      floor = await run(floorSystem, redis, null);
    } finally {
      await floorSystem.stop();
    }
  }
  let floorCoalesced: Awaited<ReturnType<typeof run>> | undefined;
  if (FLOOR_RUNS >= 2) {
    const system = await startNaive(
      { ...options('floor-coalesced'), naiveCallback: 'inline', naiveCoalesceWrites: true },
      shared,
    );
    try {
      floorCoalesced = await run(system, redis, null);
    } finally {
      await system.stop();
    }
  }
  const floorRatio = floor ? round(floor.ordersPerSec / naive.ordersPerSec, 3) : undefined;
  /** CPU ms per order of the given processes (all, or all but the bench process) */
  const cpuSum = (r: { cpuMsPerOrder: Record<string, number> }, withBench: boolean) =>
    round(
      Object.entries(r.cpuMsPerOrder)
        .filter(([name]) => withBench || name !== 'bench')
        .reduce((sum, [, ms]) => sum + ms, 0),
      3,
    );
  const noticesRatio = round(Number(ours.noticesPerSec) / Number(naive.noticesPerSec), 3);
  report('order-path', {
    layout:
      'ours: ingress + worker (token,dispense,callback; default settings) processes; naive: ingress + worker processes; floor: the naive connector with the callback delivered by the dispense job; simulators in the bench process; a private redis-server',
    orders: N,
    inFlight: IN_FLIGHT,
    machines: 200,
    workers: WORKERS,
    ...(Object.keys(WORKER_ENV).length > 0 ? { workerEnv: WORKER_ENV } : {}),
    connector: ours,
    ...(runs.length > 1
      ? {
          scaleOut: WORKER_COUNTS.map((workers, i) => ({
            workers,
            ordersPerSec: runs[i]?.ordersPerSec,
            vsFirst: round(Number(runs[i]?.ordersPerSec) / ours.ordersPerSec, 3),
            cpuMsPerOrder: runs[i]?.cpuMsPerOrder,
            commandsPerOrder: runs[i]?.commandsPerOrder,
          })),
        }
      : {}),
    naive,
    ...(floor
      ? {
          floor,
          floorRatio,
          ...(floorCoalesced
            ? {
                floorCoalesced,
                floorCoalescedRatio: round(floorCoalesced.ordersPerSec / naive.ordersPerSec, 3),
                floorCoalescedCpuMsPerOrderWithoutBench: cpuSum(floorCoalesced, false),
              }
            : {}),
          ratioToFloor: round(ours.ordersPerSec / floor.ordersPerSec, 3),
          // all processes, and without the bench process (the simulators: the same traffic for every
          // system, but their CPU per order falls with each system the process has served)
          cpuMsPerOrderTotal: {
            ours: cpuSum(ours, true),
            naive: cpuSum(naive, true),
            floor: cpuSum(floor, true),
          },
          cpuMsPerOrderWithoutBench: {
            ours: cpuSum(ours, false),
            naive: cpuSum(naive, false),
            floor: cpuSum(floor, false),
          },
        }
      : {}),
    ratio: round(ours.ordersPerSec / naive.ordersPerSec, 3),
    noticesRatio,
    commandsPerOrder: ours.commandsPerOrder,
    target: 1.25,
    summary:
      `orders/s ${ours.ordersPerSec} vs naive ${naive.ordersPerSec}, notices/s ratio ${noticesRatio}, ` +
      `overlaps ${ours.overlaps} (naive ${naive.overlaps}), double vends ${ours.doubleVends}, ` +
      `Redis commands/order ${ours.commandsPerOrder} (naive ${naive.commandsPerOrder}), ` +
      `worker CPU ${(ours.cpuMsPerOrder as Record<string, number>).worker} ms/order, ` +
      `paced p99 ${(ours.pacedLatency as { p99Ms: number }).p99Ms} ms, RSS ${JSON.stringify(ours.rssMbAfter)} MB` +
      (floor
        ? `; floor (naive, callback inline: one job per order) ${floor.ordersPerSec} orders/s = ${floorRatio}× naive, ` +
          `CPU ms/order without the bench process ${cpuSum(floor, false)} (ours ${cpuSum(ours, false)}, naive ${cpuSum(naive, false)})`
        : ''),
    redisRssMb: procStat(redis.pid).rssMb,
    loadAverage1m: { before: loadBefore, after: machineLoad() },
  });
} finally {
  await shared?.close();
  await redis.stop();
  await cleanup();
}
process.exit(0);
