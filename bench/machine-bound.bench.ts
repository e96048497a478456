// With real vend times the machines must be the limit. 1,000 orders scattered over 200 machines,
// each unit taking 500 ms to drop, through our connector with its DEFAULT settings (one worker
// process): efficiency = the busiest machine's own vending time ÷ the time from the first push to
// the last callback (1 = the connector adds nothing to what the machines need). The naive
// connector runs the same orders for comparison (it overlaps vends on a machine instead of waiting).

import {
  driverFor,
  type System,
  type SystemOptions,
  startConnector,
  startNaive,
  vendingMsByMachine,
} from './lib/order-path.js';
import { startPrivateRedis } from './lib/private-redis.js';
import { report, round } from './lib/report.js';
import { benchPrefix, envNumber, machineLoad } from './lib/system.js';

const N = envNumber('BENCH_MACHINE_BOUND_ORDERS', 1000);
const VEND_MS = envNumber('BENCH_MACHINE_BOUND_VEND_MS', 500);
const TIMEOUT_MS = envNumber('BENCH_MACHINE_BOUND_TIMEOUT_MS', 150_000);

async function run(system: System) {
  const driver = driverFor(system.world);
  const startedAt = Date.now();
  const ids = Array.from({ length: N }, () => driver.push('S'));
  const finished = await driver.settle(ids, TIMEOUT_MS);
  if (!finished) {
    process.stderr.write(
      `${system.name}: ${driver.acked(ids)} acked, ${driver.calledBack(ids)} called back of ${ids.length}\n${system.output()}\n`,
    );
  }
  const figures = driver.measure(ids, startedAt);
  const vending = [...vendingMsByMachine(system.world).entries()].sort(([, a], [, b]) => b - a);
  const [busiest, busiestMs] = vending[0] ?? ['', 0];
  const machines = system.world.machineSim.sim;
  return {
    finished,
    orders: figures.orders,
    units: figures.units,
    seconds: figures.seconds,
    busiestMachine: busiest,
    busiestMachineVendingSeconds: round(busiestMs / 1000, 2),
    efficiency: round(busiestMs / 1000 / figures.seconds, 3),
    overlaps: machines.overlaps().total,
    doubleVends: machines.stats().doubleVends,
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
  });
  const connector = await startConnector(options('ours'));
  let ours: Awaited<ReturnType<typeof run>>;
  try {
    ours = await run(connector);
  } finally {
    await connector.stop();
  }
  const naiveSystem = await startNaive(options('naive'));
  let naive: Awaited<ReturnType<typeof run>>;
  try {
    naive = await run(naiveSystem);
  } finally {
    await naiveSystem.stop();
  }
  report('machine-bound', {
    layout:
      'ours: ingress + one worker with DEFAULT settings; naive: ingress + worker (50 dispense jobs at once)',
    orders: N,
    vendMs: VEND_MS,
    machines: 200,
    connector: ours,
    naive,
    ratio: ours.efficiency,
    target: 0.8,
    summary:
      `slow-vend efficiency ${ours.efficiency} (busiest machine ${ours.busiestMachineVendingSeconds} s of vending, ` +
      `all called back in ${ours.seconds} s); naive ${naive.efficiency} with ${naive.overlaps} overlapping vends`,
    loadAverage1m: { before: loadBefore, after: machineLoad() },
  });
} finally {
  await redis.stop();
  await cleanup();
}
process.exit(0);
