// Sync: JOBS sku.upsert jobs (one SKU each) over SKUS SKUs, enqueued as fast as the producer can,
// until owitho-sim's catalogue holds the last version of every SKU: updates/s end to end, and the
// number of sku/sync requests (target ≤ SKUS / SKU_BATCH_SIZE + slack). The baseline: the same jobs
// into a bare BullMQ queue consumed by a no-op Worker at the same concurrency (SKU_SYNC_CONCURRENCY).
//
// Layout: the worker (its real main.ts, roles token,sync) and the bare Worker are each their own
// process; owitho-sim and the producer (addBulk, 1,000 jobs per call) run in the bench process.
// BENCH_SYNC_SCALE (default below) scales JOBS and SKUS together; BENCHMARKS.md states the one used.
import { jobCatalog } from '@owc/queues';
import { createRedis } from '@owc/redis';
import { generateSku } from '@owc/sim-fleet';
import { waitFor } from '@owc/testing/kit';
import { type JobsOptions, Queue } from 'bullmq';
import { report, round } from './lib/report.js';
import {
  benchPrefix,
  envNumber,
  machineLoad,
  procStat,
  REDIS_URL,
  redisServerPid,
  spawnNode,
} from './lib/system.js';
import { spawnWorker, startWorld } from './lib/world.js';

/** the figures are 100,000 jobs over 20,000 SKUs; the scale keeps `pnpm bench` within its time */
const SYNC_SCALE = envNumber('BENCH_SYNC_SCALE', 0.5);
/** the worker's SKU_BATCH_MAX_WAIT_MS; unset = its default (1,000 ms) */
const MAX_WAIT_MS = process.env.BENCH_SYNC_MAX_WAIT_MS;
const JOBS = Math.round(100_000 * SYNC_SCALE);
const SKUS = Math.round(20_000 * SYNC_SCALE);
const BATCH_SIZE = 100; // SKU_BATCH_SIZE default
const CONCURRENCY = 16; // SKU_SYNC_CONCURRENCY default
const CHUNK = 1000;
const TIMEOUT_MS = envNumber('BENCH_SYNC_TIMEOUT_MS', 80_000);
const options: JobsOptions = { ...jobCatalog['sku.upsert'].defaults };

/** job k changes SKU k % SKUS; its version is k, carried in the name so the winner can be checked */
function jobData(k: number) {
  const sku = generateSku(k % SKUS);
  return { sku: { ...sku, skuName: `${sku.skuName} v${k}` } };
}

/** Adds every job, CHUNK per addBulk, the next chunk as soon as the previous is written. */
async function produce(queue: Queue): Promise<number> {
  const started = Date.now();
  for (let offset = 0; offset < JOBS; offset += CHUNK) {
    await queue.addBulk(
      Array.from({ length: Math.min(CHUNK, JOBS - offset) }, (_, i) => ({
        name: 'sku.upsert',
        data: jobData(offset + i),
        opts: options,
      })),
    );
  }
  return Date.now() - started;
}

function lastVersionOf(index: number): number {
  // the highest k < JOBS with k % SKUS === index
  return index + SKUS * Math.floor((JOBS - 1 - index) / SKUS);
}

async function connector(prefix: string, redisPid: number) {
  const world = await startWorld(
    { machines: 1, slotsPerMachine: 1, inventory: 1 },
    { prefix, ingress: false },
  );
  const redis = createRedis({ url: REDIS_URL }, 'worker');
  const queue = new Queue('sku-sync', { connection: redis, prefix: `${prefix}:{sku-sync}` });
  const worker = await spawnWorker(
    prefix,
    world,
    {
      WORKER_ROLES: 'token,sync',
      ...(MAX_WAIT_MS ? { SKU_BATCH_MAX_WAIT_MS: MAX_WAIT_MS } : {}),
    },
    ['sku-sync'],
  );
  try {
    const { owitho } = world;
    await waitFor(() => owitho.sim.tokenFetchCount() > 0, { what: 'the worker to fetch a token' });
    const cpuBefore = { worker: procStat(worker.pid).cpuMs, redis: procStat(redisPid).cpuMs };
    const started = Date.now();
    const enqueueMs = await produce(queue);
    const expected = new Map(
      Array.from({ length: SKUS }, (_, i) => [
        generateSku(i).skuCode,
        `${generateSku(i).skuName} v${lastVersionOf(i)}`,
      ]),
    );
    const current = () => {
      let ok = 0;
      for (const sku of owitho.sim.catalogue()) if (expected.get(sku.skuCode) === sku.skuName) ok++;
      return ok;
    };
    const finished = await waitFor(() => current() === SKUS, {
      timeoutMs: TIMEOUT_MS,
      intervalMs: 250,
      what: 'every SKU at its last version in the catalogue',
    }).then(
      () => true,
      () => false,
    );
    const seconds = (Date.now() - started) / 1000;
    const cpuMs = {
      worker: procStat(worker.pid).cpuMs - cpuBefore.worker,
      redis: procStat(redisPid).cpuMs - cpuBefore.redis,
    };
    const requests = owitho.sim.requestCounts()['/sku/sync'] ?? {};
    const skuSyncRequests = Object.values(requests).reduce((a, b) => a + b, 0);
    const counts = await queue.getJobCounts('completed', 'failed');
    return {
      finished,
      skusAtLastVersion: current(),
      seconds: round(seconds, 2),
      enqueueSeconds: round(enqueueMs / 1000, 2),
      updatesPerSec: round(JOBS / seconds, 0),
      skuSyncRequests,
      skuSyncAnswers: requests,
      skusSent: owitho.sim.state().syncRequests,
      requestTarget: `<= ${SKUS / BATCH_SIZE} + slack`,
      failedJobs: counts.failed ?? 0,
      cpuMs,
      cpuMsPer1000Updates: {
        worker: round((cpuMs.worker * 1000) / JOBS, 1),
        redis: round((cpuMs.redis * 1000) / JOBS, 1),
      },
      workerRssMb: procStat(worker.pid).rssMb,
    };
  } finally {
    await worker.stop();
    await queue.close();
    redis.disconnect();
    await world.close();
  }
}

async function bare(prefix: string, redisPid: number) {
  const child = spawnNode('bench/lib/bare-workers.ts', [
    prefix,
    'idle',
    'sku-sync',
    `--concurrency=${CONCURRENCY}`,
  ]);
  const redis = createRedis({ url: REDIS_URL }, 'worker');
  const queue = new Queue('sku-sync', { connection: redis, prefix: `${prefix}:{sku-sync}` });
  try {
    const { pid } = await child.line<{ pid: number }>('ready');
    const cpuBefore = { bare: procStat(pid).cpuMs, redis: procStat(redisPid).cpuMs };
    const started = Date.now();
    const enqueueMs = await produce(queue);
    await waitFor(
      async () => {
        const counts = await queue.getJobCounts('wait', 'active', 'delayed', 'prioritized');
        return Object.values(counts).every((n) => n === 0);
      },
      { timeoutMs: TIMEOUT_MS, intervalMs: 100, what: 'the bare queue drained' },
    );
    const seconds = (Date.now() - started) / 1000;
    const cpuMs = {
      bare: procStat(pid).cpuMs - cpuBefore.bare,
      redis: procStat(redisPid).cpuMs - cpuBefore.redis,
    };
    return {
      seconds: round(seconds, 2),
      enqueueSeconds: round(enqueueMs / 1000, 2),
      jobsPerSec: round(JOBS / seconds, 0),
      cpuMs,
      cpuMsPer1000Jobs: {
        bare: round((cpuMs.bare * 1000) / JOBS, 1),
        redis: round((cpuMs.redis * 1000) / JOBS, 1),
      },
    };
  } finally {
    await queue.close();
    redis.disconnect();
    await child.stop();
  }
}

const { prefix, cleanup } = benchPrefix('sync');
try {
  const loadBefore = machineLoad();
  const redisPid = await redisServerPid();
  const baseline = await bare(`${prefix}-bare`, redisPid);
  const measured = await connector(prefix, redisPid);
  report('sync', {
    layout:
      'worker (token,sync) and the bare Worker each their own process; owitho-sim and the producer in the bench process',
    scale: SYNC_SCALE,
    jobs: JOBS,
    skus: SKUS,
    batchSize: BATCH_SIZE,
    batchMaxWaitMs: MAX_WAIT_MS ? Number(MAX_WAIT_MS) : 1000,
    order: 'job k changes SKU k mod SKUS: the versions of one SKU are SKUS jobs apart',
    concurrency: CONCURRENCY,
    connector: measured,
    bare: baseline,
    ratio: round(measured.updatesPerSec / baseline.jobsPerSec, 3),
    loadAverage1m: { before: loadBefore, after: machineLoad() },
  });
} finally {
  await cleanup();
}
process.exit(0);
