// The order path against a naive connector, in the same run, under the same load: owitho-sim pushes
// N signed notices (64 in flight) for 200 machines with instant vends; the naive connector
// (bench/lib/naive-connector.ts: Fastify + queue.add with a jobId, a worker that vends and enqueues
// the callback, a callback worker; no order store, no lease, no ask-before-retry) and ours (the
// ingress and the worker with its default settings) each get the same burst and then a paced phase
// at half our burst rate. Both run on a private redis-server, so INFO commandstats (Lua-internal
// calls included), its CPU and its memory count only this benchmark.

import {
  driverFor,
  perOrder,
  pushPaced,
  rssOf,
  type System,
  type SystemOptions,
  startConnector,
  startNaive,
  watchCpu,
} from './lib/order-path.js';
import { commandDelta, type PrivateRedis, startPrivateRedis } from './lib/private-redis.js';
import { report, round } from './lib/report.js';
import { benchPrefix, envNumber, machineLoad, procStat, SCALE } from './lib/system.js';

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
const WARMUP = 100;
const TIMEOUT_MS = 60_000;

async function run(
  system: System,
  redis: PrivateRedis,
  paceRate: number | undefined,
): Promise<Record<string, unknown> & { ordersPerSec: number }> {
  const driver = driverFor(system.world);
  const warm = Array.from({ length: WARMUP }, () => driver.push('W'));
  if (!(await driver.settle(warm, 60_000))) {
    throw new Error(
      `${system.name}: the warm-up did not finish: ${driver.acked(warm)} acked, ${driver.calledBack(warm)} called back\n${system.output()}`,
    );
  }

  const commandsBefore = await redis.commandCalls();
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
  const commands = commandDelta(commandsBefore, await redis.commandCalls());
  const burst = driver.measure(ids, startedAt);

  // notice → callback at half our burst rate (the same rate for both systems)
  const rate = paceRate ?? Math.max(1, Math.round(burst.ordersPerSec / 2));
  const pacedIds = await pushPaced(driver, 'L', rate, PACE_SECONDS);
  await driver.settle(pacedIds, 30_000);
  const paced = driver.measure(pacedIds, 0);
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
    pacedRatePerSec: rate,
    pacedOrders: pacedIds.length,
    pacedLatency: paced.latency,
    overlaps: machines.overlaps().total,
    doubleVends: machines.stats().doubleVends,
    rssMbAfter: rssOf(system.pids),
  };
}

const { prefix, cleanup } = benchPrefix('op');
const redis = await startPrivateRedis();
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
  const runs: Awaited<ReturnType<typeof run>>[] = [];
  for (const workers of WORKER_COUNTS) {
    const connector = await startConnector(options(`ours-${workers}w`, workers));
    try {
      runs.push(await run(connector, redis, undefined));
    } finally {
      await connector.stop();
    }
  }
  const [ours] = runs;
  if (!ours) throw new Error('BENCH_ORDER_PATH_WORKERS names no worker count');
  const naiveSystem = await startNaive(options('naive'));
  let naive: Awaited<ReturnType<typeof run>>;
  try {
    naive = await run(naiveSystem, redis, Number(ours.pacedRatePerSec));
  } finally {
    await naiveSystem.stop();
  }
  const noticesRatio = round(Number(ours.noticesPerSec) / Number(naive.noticesPerSec), 3);
  report('order-path', {
    layout:
      'ours: ingress + worker (token,dispense,callback; default settings) processes; naive: ingress + worker processes; simulators in the bench process; a private redis-server',
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
    ratio: round(ours.ordersPerSec / naive.ordersPerSec, 3),
    noticesRatio,
    commandsPerOrder: ours.commandsPerOrder,
    target: 1.25,
    summary:
      `orders/s ${ours.ordersPerSec} vs naive ${naive.ordersPerSec}, notices/s ratio ${noticesRatio}, ` +
      `overlaps ${ours.overlaps} (naive ${naive.overlaps}), double vends ${ours.doubleVends}, ` +
      `Redis commands/order ${ours.commandsPerOrder} (naive ${naive.commandsPerOrder}), ` +
      `worker CPU ${(ours.cpuMsPerOrder as Record<string, number>).worker} ms/order, ` +
      `paced p99 ${(ours.pacedLatency as { p99Ms: number }).p99Ms} ms, RSS ${JSON.stringify(ours.rssMbAfter)} MB`,
    redisRssMb: procStat(redis.pid).rssMb,
    loadAverage1m: { before: loadBefore, after: machineLoad() },
  });
} finally {
  await redis.stop();
  await cleanup();
}
process.exit(0);
