// Order pipeline: orders of 1–3 units through notice (owitho-sim → ingress) → dispense on the
// machine simulator (zero vend time, 200 machines, large inventory) → order/callback accepted by
// owitho-sim; against a bare two-stage BullMQ chain (no-op stage 1 that adds a stage-2 job, no-op
// stage 2) at the same concurrency as the worker's dispense and callback consumers.
//
// Layout: the ingress and the worker are their own processes (their real main.ts); the bare chain's
// two Workers are one process, like the worker. owitho-sim, machine-sim and the bare chain's
// producer run in the bench process. Two phases per side:
//   throughput: a burst of N orders (jobs) at once → orders/s from the first push to the last callback;
//   latency: orders at a steady PACE_SHARE of the connector's burst throughput, the same rate for
//   both sides → notice-to-callback p50/p99 at a load both sustain.
import { setTimeout as sleep } from 'node:timers/promises';
import { createRedis } from '@owc/redis';
import { generateFleet } from '@owc/sim-fleet';
import { waitFor } from '@owc/testing/kit';
import { Queue } from 'bullmq';
import { noticeFor, unitsOf } from './lib/orders.js';
import { percentile, report, round } from './lib/report.js';
import {
  benchPrefix,
  envNumber,
  machineLoad,
  procStat,
  REDIS_URL,
  redisServerPid,
  SCALE,
  spawnNode,
} from './lib/system.js';
import { type AppChild, spawnWorker, startWorld, type World } from './lib/world.js';

const N = Math.round(envNumber('BENCH_PIPELINE_ORDERS', 2000) * SCALE);
const WARMUP = 50;
const PACE_SECONDS = envNumber('BENCH_PIPELINE_PACE_SECONDS', 8);
const PACE_SHARE = 0.5;
/** one concurrency for both sides (ours and the bare chain), so the two are compared like for like */
const DISPENSE_CONCURRENCY = 16;
const CALLBACK_CONCURRENCY = 32;
const BURST_TIMEOUT_MS = envNumber('BENCH_PIPELINE_TIMEOUT_MS', 70_000);
const fleet = { machines: 200, slotsPerMachine: 12, inventory: 100_000 };
const layouts = generateFleet(fleet).machines;

interface CpuWatch {
  stop(): Record<string, number>;
}

/** CPU ms used by each process between now and stop(). */
function watchCpu(pids: Record<string, number>): CpuWatch {
  const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, procStat(pid).cpuMs]));
  const self = process.cpuUsage();
  return {
    stop() {
      const used: Record<string, number> = {};
      for (const [k, pid] of Object.entries(pids)) used[k] = procStat(pid).cpuMs - (before[k] ?? 0);
      const mine = process.cpuUsage(self);
      used.benchProcess = Math.round((mine.user + mine.system) / 1000);
      return used;
    },
  };
}

function perOrder(cpu: Record<string, number>, orders: number): Record<string, number> {
  return Object.fromEntries(Object.entries(cpu).map(([k, ms]) => [k, round(ms / orders, 3)]));
}

function latencySummary(latencies: number[]) {
  const sorted = [...latencies].sort((a, b) => a - b);
  return { p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), maxMs: sorted.at(-1) ?? Number.NaN };
}

/** Pushes `rate` orders per second for `seconds`, in 50 ms ticks; returns the pushed ids. */
async function paced(
  rate: number,
  seconds: number,
  push: (i: number) => void | Promise<void>,
): Promise<number> {
  const start = Date.now();
  let pushed = 0;
  while (Date.now() - start < seconds * 1000) {
    const owed = Math.floor(((Date.now() - start) / 1000) * rate) - pushed;
    for (let k = 0; k < owed; k++) await push(pushed++);
    await sleep(50);
  }
  return pushed;
}

// --- the connector
async function connector(prefix: string, redisPid: number) {
  const world: World = await startWorld(fleet, { prefix, ingress: true });
  let worker: AppChild | undefined;
  try {
    worker = await spawnWorker(
      prefix,
      world,
      {
        WORKER_ROLES: 'token,dispense,callback',
        DISPENSE_CONCURRENCY: String(DISPENSE_CONCURRENCY),
        CALLBACK_CONCURRENCY: String(CALLBACK_CONCURRENCY),
      },
      ['dispense', 'callback'],
    );
    const { owitho } = world;
    const ingressPid = world.ingress?.app.pid;
    if (!ingressPid) throw new Error('no ingress');
    await waitFor(() => owitho.sim.tokenFetchCount() > 0, { what: 'the worker to fetch a token' });

    let seq = 0;
    const push = (tag: string): string => {
      const i = seq++;
      const layout = layouts[i % layouts.length];
      if (!layout) throw new Error('no layout');
      const id = `${tag}${i}`;
      owitho.sim.pushOrder(noticeFor(id, layout, i));
      return id;
    };
    const calledBack = (ids: readonly string[]) =>
      ids.reduce((n, id) => n + ((owitho.sim.order(id)?.callbacks.length ?? 0) > 0 ? 1 : 0), 0);
    const notice = (id: string) => owitho.sim.order(id);

    // warm-up: the ingress reads the token, every process's hot paths are compiled
    const warm = Array.from({ length: WARMUP }, () => push('W'));
    await waitFor(() => calledBack(warm) === warm.length, { timeoutMs: 30_000, what: 'the warm-up orders' });

    // throughput: a burst of N
    const cpu = watchCpu({ ingress: ingressPid, worker: worker.pid, redis: redisPid });
    const started = Date.now();
    const ids = Array.from({ length: N }, () => push('P'));
    const finished = await waitFor(() => calledBack(ids) === ids.length, {
      timeoutMs: BURST_TIMEOUT_MS,
      intervalMs: 100,
      what: 'a callback for every order of the burst',
    }).then(
      () => true,
      () => false,
    );
    const done = ids.filter((id) => (notice(id)?.callbacks.length ?? 0) > 0);
    const lastAt = Math.max(...done.map((id) => notice(id)?.callbacks[0]?.at ?? 0));
    const seconds = (lastAt - started) / 1000;
    const cpuMs = cpu.stop();
    const units = done.reduce((n, id) => {
      const state = notice(id);
      return n + (state?.notice ? unitsOf(state.notice) : 0);
    }, 0);
    const vended = done.reduce(
      (n, id) =>
        n + (notice(id)?.callbacks[0]?.payload.outDetailList.filter((d) => d.status === 200).length ?? 0),
      0,
    );
    const burstLatency = latencySummary(
      done.map((id) => (notice(id)?.callbacks[0]?.at ?? 0) - (notice(id)?.lastPushAt ?? 0)),
    );
    const ordersPerSec = done.length / seconds;

    // latency: a steady rate both sides sustain
    const rate = Math.max(1, Math.round(ordersPerSec * PACE_SHARE));
    const pacedIds: string[] = [];
    await paced(rate, PACE_SECONDS, () => {
      pacedIds.push(push('L'));
    });
    await waitFor(() => calledBack(pacedIds) === pacedIds.length, {
      timeoutMs: 30_000,
      intervalMs: 100,
      what: 'a callback for every paced order',
    });
    const pacedLatency = latencySummary(
      pacedIds.map((id) => (notice(id)?.callbacks[0]?.at ?? 0) - (notice(id)?.lastPushAt ?? 0)),
    );
    const repushes = [...ids, ...pacedIds].reduce(
      (n, id) => n + Math.max(0, (notice(id)?.pushes ?? 1) - 1),
      0,
    );
    return {
      result: {
        orders: done.length,
        finished,
        units,
        unitsVended: vended,
        seconds: round(seconds, 2),
        ordersPerSec: round(ordersPerSec, 1),
        unitsPerSec: round(units / seconds, 1),
        burstLatency,
        pacedRatePerSec: rate,
        pacedOrders: pacedIds.length,
        pacedLatency,
        noticeRePushes: repushes,
        cpuMs,
        cpuMsPerOrder: perOrder(cpuMs, done.length),
        workerRssMb: procStat(worker.pid).rssMb,
        ingressRssMb: procStat(ingressPid).rssMb,
      },
      rate,
    };
  } finally {
    await worker?.stop();
    await world.close();
  }
}

// --- the bare chain
async function bareChain(prefix: string, redisPid: number, rate: number) {
  const chain = spawnNode('bench/lib/bare-workers.ts', [
    prefix,
    'chain',
    String(DISPENSE_CONCURRENCY),
    String(CALLBACK_CONCURRENCY),
  ]);
  const redis = createRedis({ url: REDIS_URL }, 'worker');
  const stage1 = new Queue('stage1', { connection: redis, prefix: `${prefix}:{bare}` });
  const stage2 = new Queue('stage2', { connection: redis, prefix: `${prefix}:{bare}` });
  try {
    const { pid } = await chain.line<{ pid: number }>('ready');
    let seq = 0;
    const add = (tag: string) => {
      const i = seq++;
      return stage1.add(
        'order',
        { orderViewId: `${tag}${i}`, machineCode: layouts[i % layouts.length]?.machineCode },
        {
          removeOnComplete: true,
        },
      );
    };
    const completed = async () => (await stage2.getJobCounts('completed')).completed ?? 0;
    // finished stage-2 jobs: their root's add time (t0) and when they finished
    const finishedJobs = async () =>
      (await stage2.getJobs(['completed'], 0, -1)).map((job) => ({
        t0: (job.data as { t0: number }).t0,
        finishedOn: job.finishedOn ?? 0,
      }));

    await Promise.all(Array.from({ length: WARMUP }, () => add('W')));
    await waitFor(async () => (await completed()) >= WARMUP, { timeoutMs: 30_000, what: 'the bare warm-up' });
    const base = WARMUP;

    const cpu = watchCpu({ chain: pid, redis: redisPid });
    const started = Date.now();
    await stage1.addBulk(
      Array.from({ length: N }, () => {
        const i = seq++;
        return {
          name: 'order',
          data: { orderViewId: `P${i}`, machineCode: layouts[i % layouts.length]?.machineCode },
          opts: { removeOnComplete: true },
        };
      }),
    );
    await waitFor(async () => (await completed()) >= base + N, {
      timeoutMs: BURST_TIMEOUT_MS,
      intervalMs: 50,
      what: 'the bare burst',
    });
    const cpuMs = cpu.stop();
    const burst = (await finishedJobs()).filter((j) => j.t0 >= started);
    const lastAt = Math.max(...burst.map((j) => j.finishedOn));
    const seconds = (lastAt - started) / 1000;
    const burstLatency = latencySummary(burst.map((j) => j.finishedOn - j.t0));

    const pacedStart = Date.now();
    const pacedCount = await paced(rate, PACE_SECONDS, async () => {
      await add('L');
    });
    await waitFor(async () => (await completed()) >= base + N + pacedCount, {
      timeoutMs: 30_000,
      what: 'the bare paced jobs',
    });
    const pacedJobs = (await finishedJobs()).filter((j) => j.t0 >= pacedStart);
    return {
      orders: burst.length,
      seconds: round(seconds, 2),
      ordersPerSec: round(burst.length / seconds, 1),
      burstLatency,
      pacedRatePerSec: rate,
      pacedOrders: pacedJobs.length,
      pacedLatency: latencySummary(pacedJobs.map((j) => j.finishedOn - j.t0)),
      cpuMs,
      cpuMsPerOrder: perOrder(cpuMs, burst.length),
      rssMb: procStat(pid).rssMb,
    };
  } finally {
    await stage1.close();
    await stage2.close();
    redis.disconnect();
    await chain.stop();
  }
}

const { prefix, cleanup } = benchPrefix('pipeline');
try {
  const loadBefore = machineLoad();
  const redisPid = await redisServerPid();
  const { result: real, rate } = await connector(prefix, redisPid);
  const bare = await bareChain(`${prefix}-bare`, redisPid, rate);
  report('pipeline', {
    layout:
      'ingress and worker (token,dispense,callback) each their own process; bare chain one process; simulators and producers in the bench process',
    orders: N,
    unitsPerOrder: '1-3 (one line)',
    machines: fleet.machines,
    concurrency: { dispense: DISPENSE_CONCURRENCY, callback: CALLBACK_CONCURRENCY },
    connector: real,
    bareChain: bare,
    ratio: round(real.ordersPerSec / bare.ordersPerSec, 3),
    target: 0.5,
    loadAverage1m: { before: loadBefore, after: machineLoad() },
  });
} finally {
  await cleanup();
}
process.exit(0);
