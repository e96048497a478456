// Memory and idle: a worker with every role (its real main.ts, in its own process) does a short
// run (orders through the whole path, SKU upserts, restocked machines); then its RSS, then the CPU
// it uses over IDLE_SECONDS with nothing to do. The baseline, idle in the same window: bare
// BullMQ Workers (no-op processors) on the same four queues, in their own process.
// CPU and RSS come from /proc/<pid>/stat; syscalls (a proxy for wake-ups) from /proc/<pid>/io.
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { createProducer, QUEUE_NAMES } from '@owc/queues';
import { createRedis } from '@owc/redis';
import { generateFleet, generateSku } from '@owc/sim-fleet';
import { waitFor } from '@owc/testing/kit';
import { noticeFor } from './lib/orders.js';
import { report, round } from './lib/report.js';
import { benchPrefix, envNumber, machineLoad, procStat, REDIS_URL, spawnNode } from './lib/system.js';
import { spawnWorker, startWorld } from './lib/world.js';

const WORKER_LOG = process.env.BENCH_WORKER_LOG ?? 'warn';
const IDLE_SECONDS = envNumber('BENCH_IDLE_SECONDS', 30);
const SETTLE_MS = envNumber('BENCH_IDLE_SETTLE_MS', 3000);
const ORDERS = 300;
const SKU_JOBS = 2000;
const SKUS = 500;
const RESTOCKED = 5;
const fleet = { machines: 20, slotsPerMachine: 12, inventory: 100_000 };

function syscalls(pid: number): number {
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  const read = Number(/syscr:\s*(\d+)/.exec(io)?.[1]);
  const write = Number(/syscw:\s*(\d+)/.exec(io)?.[1]);
  return read + write;
}

/** CPU ms per thread name (main thread = the process name, V8/libuv helpers by their names). */
function threadCpu(pid: number): Map<string, number> {
  const byName = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ms = ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
      const key = tid === String(pid) ? 'main' : name;
      byName.set(key, (byName.get(key) ?? 0) + ms);
    } catch {
      // the thread ended meanwhile
    }
  }
  return byName;
}

async function idle(pid: number, seconds: number) {
  const before = { ...procStat(pid), syscalls: syscalls(pid), threads: threadCpu(pid) };
  await sleep(seconds * 1000);
  const after = { ...procStat(pid), syscalls: syscalls(pid), threads: threadCpu(pid) };
  const cpuMs = after.cpuMs - before.cpuMs;
  const threads: Record<string, number> = {};
  for (const [name, ms] of after.threads) {
    const used = ms - (before.threads.get(name) ?? 0);
    if (used > 0) threads[name] = used;
  }
  return {
    cpuMs,
    cpuMsByThread: threads,
    cpuShare: round(cpuMs / (seconds * 1000), 4),
    syscallsPerSec: round((after.syscalls - before.syscalls) / seconds, 1),
    rssMb: after.rssMb,
  };
}

const { prefix, cleanup } = benchPrefix('idle');
const world = await startWorld(fleet, { prefix, ingress: true });
const children: { stop(): Promise<void> }[] = [];
try {
  const worker = await spawnWorker(prefix, world, { LOG_LEVEL: WORKER_LOG }, [...QUEUE_NAMES]);
  children.push(worker);
  // its own key prefix: the same queue names, never the worker's jobs
  const bare = spawnNode('bench/lib/bare-workers.ts', [`${prefix}-bare`, 'idle', ...QUEUE_NAMES]);
  children.push(bare);
  const { pid: barePid } = await bare.line<{ pid: number }>('ready');
  const rssAtStart = procStat(worker.pid).rssMb;

  // the run: orders through the whole path, SKU upserts, restocks
  const { owitho } = world;
  await waitFor(() => owitho.sim.tokenFetchCount() > 0, { what: 'the worker to fetch a token' });
  const started = Date.now();
  const layouts = generateFleet(fleet).machines;
  const machines = layouts.map((m) => m.machineCode);
  for (let i = 0; i < ORDERS; i++) {
    const layout = layouts[i % layouts.length];
    if (!layout) throw new Error('no machine layout');
    owitho.sim.pushOrder(noticeFor(`IDLE${i}`, layout, i));
  }
  const redis = createRedis({ url: REDIS_URL }, 'worker');
  const producer = createProducer(redis, { keyPrefix: prefix });
  const skuQueue = producer.queue('sku-sync');
  for (let offset = 0; offset < SKU_JOBS; offset += 500) {
    await skuQueue.addBulk(
      Array.from({ length: Math.min(500, SKU_JOBS - offset) }, (_, k) => {
        const sku = generateSku((offset + k) % SKUS);
        return { name: 'sku.upsert', data: { sku: { ...sku, skuName: `${sku.skuName} v${offset + k}` } } };
      }),
    );
  }
  for (const machineCode of machines.slice(0, RESTOCKED))
    await producer.enqueue('machine.restocked', { machineCode });

  const ids = Array.from({ length: ORDERS }, (_, i) => `IDLE${i}`);
  await waitFor(() => ids.every((id) => (owitho.sim.order(id)?.callbacks.length ?? 0) > 0), {
    timeoutMs: 60_000,
    intervalMs: 200,
    what: 'a callback for every order',
  }).catch(async (error: unknown) => {
    for (const name of QUEUE_NAMES) {
      process.stderr.write(`${name}: ${JSON.stringify(await producer.queue(name).getJobCounts())}\n`);
    }
    const failed = await producer.queue('dispense').getJobs(['failed', 'delayed', 'active', 'wait'], 0, 3);
    for (const job of failed) process.stderr.write(`${job.id} ${job.failedReason} ${job.attemptsMade}\n`);
    process.stderr.write(
      `${JSON.stringify(owitho.sim.state())}\n${world.ingress?.app.output().slice(-3000)}\n${worker.output().slice(-5000)}\n`,
    );
    throw error;
  });
  const synced = await waitFor(
    async () => {
      const counts = await skuQueue.getJobCounts('wait', 'active', 'delayed', 'prioritized');
      const pending = Object.values(counts).reduce((a, b) => a + b, 0);
      return (
        pending === 0 && owitho.sim.catalogue().length >= SKUS && owitho.sim.machines().length >= RESTOCKED
      );
    },
    { timeoutMs: 30_000, intervalMs: 200, what: 'the SKUs and machines synced' },
  ).then(
    () => true,
    () => false,
  );
  const runSeconds = round((Date.now() - started) / 1000, 1);
  await producer.close();
  redis.disconnect();

  const rssAfterRun = procStat(worker.pid).rssMb;
  // the last timers of the run (batch waits, lease renewals) must run out before idle is measured
  await sleep(SETTLE_MS);
  const loadBefore = machineLoad();
  const [workerIdle, bareIdle, ingressIdle] = await Promise.all([
    idle(worker.pid, IDLE_SECONDS),
    idle(barePid, IDLE_SECONDS),
    world.ingress ? idle(world.ingress.app.pid, IDLE_SECONDS) : undefined,
  ]);
  report('idle', {
    layout: 'worker (all roles) and bare workers each in their own process, idle in the same window',
    run: {
      orders: ORDERS,
      skuUpsertJobs: SKU_JOBS,
      skus: SKUS,
      restockedMachines: RESTOCKED,
      seconds: runSeconds,
      syncCaughtUp: synced,
      skuSyncRequests: owitho.sim.requestCounts()['/sku/sync'] ?? {},
    },
    worker: { rssMbAtStart: rssAtStart, rssMbAfterRun: rssAfterRun, idle: workerIdle },
    bare: { idle: bareIdle },
    ingress: ingressIdle ? { idle: ingressIdle } : undefined,
    idleSeconds: IDLE_SECONDS,
    idleCpuMsPerMinute: round((workerIdle.cpuMs * 60) / IDLE_SECONDS, 0),
    bareIdleCpuMsPerMinute: round((bareIdle.cpuMs * 60) / IDLE_SECONDS, 0),
    // like every ratio here, 1 = as good as the baseline: the bare Workers' idle CPU over ours
    ratio: round(bareIdle.cpuMs / Math.max(1, workerIdle.cpuMs), 3),
    target: 'idle CPU near zero (no busy polling)',
    loadAverage1m: { before: loadBefore, after: machineLoad() },
  });
} finally {
  await Promise.all(children.map((c) => c.stop()));
  await world.close();
  await cleanup();
}
process.exit(0);
