// With real vend times the machines must be the limit. 1,000 orders scattered over 200 machines,
// each unit taking 500 ms to drop, through our connector with its DEFAULT settings (one worker
// process): efficiency = the busiest machine's own vending time ÷ the time from the first push to
// the last callback (1 = the connector adds nothing to what the machines need). The naive
// connector runs the same orders for comparison (it overlaps vends on a machine instead of waiting).
// For measuring other layouts by hand: BENCH_MACHINE_BOUND_WORKERS (worker processes),
// BENCH_MACHINE_BOUND_WORKER_ENV (`NAME=value,…`, worker settings other than the defaults) and
// BENCH_MACHINE_BOUND_NAIVE=0 (ours only).

import {
  driverFor,
  perOrder,
  rssOf,
  type System,
  type SystemOptions,
  startConnector,
  startNaive,
  vendingMsByMachine,
  watchCpu,
} from './lib/order-path.js';
import { type PrivateRedis, startPrivateRedis } from './lib/private-redis.js';
import { report, round } from './lib/report.js';
import { benchPrefix, envNumber, machineLoad } from './lib/system.js';

const N = envNumber('BENCH_MACHINE_BOUND_ORDERS', 1000);
const VEND_MS = envNumber('BENCH_MACHINE_BOUND_VEND_MS', 500);
const TIMEOUT_MS = envNumber('BENCH_MACHINE_BOUND_TIMEOUT_MS', 150_000);
const WORKERS = envNumber('BENCH_MACHINE_BOUND_WORKERS', 1);
const WITH_NAIVE = envNumber('BENCH_MACHINE_BOUND_NAIVE', 1) !== 0;
const WORKER_ENV = parseEnvList(process.env.BENCH_MACHINE_BOUND_WORKER_ENV ?? '');

function parseEnvList(raw: string): Record<string, string> {
  const pairs = raw
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  return Object.fromEntries(
    pairs.map((pair) => {
      const at = pair.indexOf('=');
      if (at <= 0) throw new Error(`BENCH_MACHINE_BOUND_WORKER_ENV: expected NAME=value, got "${pair}"`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
}

/**
 * Where the busiest machine's time went, in seconds from the first push: when its last order was
 * acked, when it first started vending, how long it stood idle between its first and last vend,
 * and how long after its last vend the last callback came.
 */
function busiestTimeline(system: System, machineCode: string, startedAt: number) {
  const entries = system.world.machineSim.sim
    .ledger()
    .filter((e) => e.machineCode === machineCode)
    .sort((a, b) => a.startedAt - b.startedAt);
  const first = entries[0];
  const last = entries.at(-1);
  if (!first || !last) return {};
  let idleMs = 0;
  for (let i = 1; i < entries.length; i++) {
    const [prev, next] = [entries[i - 1], entries[i]];
    if (prev && next) idleMs += Math.max(0, next.startedAt - prev.finishedAt);
  }
  const orderOf = (vendId: string) => vendId.slice(0, vendId.lastIndexOf('-'));
  const orders = new Set(entries.map((e) => orderOf(e.vendId)));
  const acked = [...orders].map((id) => system.world.owitho.sim.order(id)?.ackedAt ?? Number.NaN);
  // the earliest the machine could have finished, given when its orders were acked (each vend
  // as long as it took): what the connector's acceptance leaves to its dispatch
  const vendMsOf = new Map<string, number>();
  for (const e of entries)
    vendMsOf.set(orderOf(e.vendId), (vendMsOf.get(orderOf(e.vendId)) ?? 0) + e.finishedAt - e.startedAt);
  let idealEnd = startedAt;
  for (const [id, at] of [...orders]
    .map((id, i) => [id, acked[i] ?? Number.NaN] as const)
    .sort((a, b) => a[1] - b[1]))
    idealEnd = Math.max(idealEnd, at) + (vendMsOf.get(id) ?? 0);
  const sim = system.world.owitho.sim;
  const lastCallback = Math.max(...sim.orders().map((o) => o.callbacks[0]?.at ?? 0));
  return {
    busiest: {
      orders: orders.size,
      units: entries.length,
      lastOrderAckedAtS: round((Math.max(...acked) - startedAt) / 1000, 2),
      firstVendAtS: round((first.startedAt - startedAt) / 1000, 2),
      idleBetweenVendsS: round(idleMs / 1000, 2),
      lastVendEndAtS: round((last.finishedAt - startedAt) / 1000, 2),
      earliestEndGivenAcksS: round((idealEnd - startedAt) / 1000, 2),
      lastCallbackAfterItS: round((lastCallback - last.finishedAt) / 1000, 2),
    },
  };
}

async function run(system: System, redis: PrivateRedis) {
  const driver = driverFor(system.world);
  const cpu = watchCpu({ ...system.pids, redis: redis.pid });
  const startedAt = Date.now();
  const ids = Array.from({ length: N }, () => driver.push('S'));
  const finished = await driver.settle(ids, TIMEOUT_MS);
  if (!finished) {
    process.stderr.write(
      `${system.name}: ${driver.acked(ids)} acked, ${driver.calledBack(ids)} called back of ${ids.length}\n${system.output()}\n`,
    );
  }
  const cpuMs = cpu.stop();
  const figures = driver.measure(ids, startedAt);
  const vending = [...vendingMsByMachine(system.world).entries()].sort(([, a], [, b]) => b - a);
  const [busiest, busiestMs] = vending[0] ?? ['', 0];
  const machines = system.world.machineSim.sim;
  return {
    ...busiestTimeline(system, busiest, startedAt),
    finished,
    orders: figures.orders,
    units: figures.units,
    seconds: figures.seconds,
    busiestMachine: busiest,
    busiestMachineVendingSeconds: round(busiestMs / 1000, 2),
    efficiency: round(busiestMs / 1000 / figures.seconds, 3),
    overlaps: machines.overlaps().total,
    doubleVends: machines.stats().doubleVends,
    cpuMsPerOrder: perOrder(cpuMs, figures.orders),
    rssMbAfter: rssOf(system.pids),
  };
}

const { prefix, cleanup } = benchPrefix('mb');
const redis = await startPrivateRedis();
try {
  const loadBefore = machineLoad();
  const options = (name: string): SystemOptions => ({
    prefix: `${prefix}-${name}`,
    redisUrl: redis.url,
    vendDurationMs: VEND_MS,
    inFlight: 64,
    workers: WORKERS,
    workerEnv: WORKER_ENV,
  });
  const connector = await startConnector(options('ours'));
  let ours: Awaited<ReturnType<typeof run>>;
  try {
    ours = await run(connector, redis);
  } finally {
    await connector.stop();
  }
  let naive: Awaited<ReturnType<typeof run>> | undefined;
  if (WITH_NAIVE) {
    const naiveSystem = await startNaive(options('naive'));
    try {
      naive = await run(naiveSystem, redis);
    } finally {
      await naiveSystem.stop();
    }
  }
  report('machine-bound', {
    layout: `ours: ingress + ${WORKERS} worker process(es) with ${
      Object.keys(WORKER_ENV).length === 0 ? 'DEFAULT settings' : `settings ${JSON.stringify(WORKER_ENV)}`
    }; naive: ingress + worker (50 dispense jobs at once)`,
    orders: N,
    vendMs: VEND_MS,
    machines: 200,
    connector: ours,
    naive,
    ratio: ours.efficiency,
    target: 0.8,
    summary:
      `slow-vend efficiency ${ours.efficiency} (busiest machine ${ours.busiestMachineVendingSeconds} s of vending, ` +
      `all called back in ${ours.seconds} s, overlaps ${ours.overlaps}, worker CPU ` +
      `${ours.cpuMsPerOrder.worker} ms/order)` +
      (naive ? `; naive ${naive.efficiency} with ${naive.overlaps} overlapping vends` : ''),
    loadAverage1m: { before: loadBefore, after: machineLoad() },
  });
} finally {
  await redis.stop();
  await cleanup();
}
process.exit(0);
