// What tracing costs the order path: the pipeline of pipeline.bench.ts (owitho-sim → ingress
// process → worker process → machine-sim → order/callback to owitho-sim; bursts of orders of 1–3
// units) with tracing off and on, in the same run, alternating off/on ROUNDS times so that a
// drifting machine load hits both sides alike.
//   off: OTEL_EXPORTER_OTLP_ENDPOINT unset, the production default (nothing is started);
//   on: set in both processes, so the SDK, @fastify/otel, undici's instrumentation and BullMQ's
//       telemetry are active and spans are batched and exported over OTLP/HTTP, as in production,
//       to a sink in this process that answers 200 and keeps nothing but counts.
// ratio: orders/s traced ÷ orders/s untraced over all rounds (1 = tracing is free); cpuRatio: CPU
// ms per order of the ingress and worker processes, traced ÷ untraced (the steadier of the two
// on a shared machine).
import { createServer, type Server } from 'node:http';
import { waitFor } from '@owc/testing/kit';
import { driverFor, FLEET } from './lib/order-path.js';
import { percentile, report, round } from './lib/report.js';
import { benchPrefix, envNumber, machineLoad, procStat, SCALE } from './lib/system.js';
import { type AppChild, spawnWorker, startWorld, type World } from './lib/world.js';

const N = Math.round(envNumber('BENCH_TRACING_ORDERS', 1000) * SCALE);
const ROUNDS = envNumber('BENCH_TRACING_ROUNDS', 2);
const WARMUP = 50;
const BURST_TIMEOUT_MS = envNumber('BENCH_TRACING_TIMEOUT_MS', 90_000);

/** A stand-in collector: takes OTLP/HTTP exports, answers 200, counts requests and bytes. */
async function startSink(): Promise<{
  url: string;
  requests: number;
  bytes: number;
  close(): Promise<void>;
}> {
  const sink = { url: '', requests: 0, bytes: 0, close: async () => {} };
  const server: Server = createServer((req, res) => {
    req.on('data', (chunk: Buffer) => {
      sink.bytes += chunk.length;
    });
    req.on('end', () => {
      sink.requests++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  sink.url = `http://127.0.0.1:${address.port}`;
  sink.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return sink;
}

interface Round {
  tracing: 'off' | 'on';
  orders: number;
  seconds: number;
  ordersPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU ms per order of the ingress and the worker processes during the burst */
  cpuMsPerOrder: { ingress: number; worker: number };
  workerRssMb: number;
  ingressRssMb: number;
  /** tracing on: OTLP export requests and bytes the sink received during the burst */
  exports?: { requests: number; kb: number };
}

async function runRound(
  prefix: string,
  tracing: 'off' | 'on',
  sink: Awaited<ReturnType<typeof startSink>>,
): Promise<Round> {
  const otel: Record<string, string> = tracing === 'on' ? { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url } : {};
  const world: World = await startWorld(FLEET, { prefix, ingress: true, env: otel });
  let worker: AppChild | undefined;
  try {
    worker = await spawnWorker(prefix, world, { WORKER_ROLES: 'token,dispense,callback', ...otel }, [
      'dispense',
      'callback',
    ]);
    const { owitho } = world;
    const ingressPid = world.ingress?.app.pid;
    if (!ingressPid) throw new Error('no ingress');
    await waitFor(() => owitho.sim.tokenFetchCount() > 0, { what: 'the worker to fetch a token' });
    const { push, calledBack } = driverFor(world);

    const warm = Array.from({ length: WARMUP }, () => push('W'));
    await waitFor(() => calledBack(warm) === warm.length, { timeoutMs: 60_000, what: 'the warm-up orders' });

    const cpuBefore = { ingress: procStat(ingressPid).cpuMs, worker: procStat(worker.pid).cpuMs };
    const sinkBefore = { requests: sink.requests, bytes: sink.bytes };
    const started = Date.now();
    const ids = Array.from({ length: N }, () => push('P'));
    await waitFor(() => calledBack(ids) === ids.length, {
      timeoutMs: BURST_TIMEOUT_MS,
      intervalMs: 100,
      what: `a callback for every order of the burst (tracing ${tracing})`,
    });
    const first = (id: string) => owitho.sim.order(id);
    const lastAt = Math.max(...ids.map((id) => first(id)?.callbacks[0]?.at ?? 0));
    const seconds = (lastAt - started) / 1000;
    const latencies = ids
      .map((id) => (first(id)?.callbacks[0]?.at ?? 0) - (first(id)?.lastPushAt ?? 0))
      .sort((a, b) => a - b);
    const cpu = {
      ingress: procStat(ingressPid).cpuMs - cpuBefore.ingress,
      worker: procStat(worker.pid).cpuMs - cpuBefore.worker,
    };
    return {
      tracing,
      orders: ids.length,
      seconds: round(seconds, 2),
      ordersPerSec: round(ids.length / seconds, 1),
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      cpuMsPerOrder: {
        ingress: round(cpu.ingress / ids.length, 3),
        worker: round(cpu.worker / ids.length, 3),
      },
      workerRssMb: procStat(worker.pid).rssMb,
      ingressRssMb: procStat(ingressPid).rssMb,
      ...(tracing === 'on'
        ? {
            exports: {
              requests: sink.requests - sinkBefore.requests,
              kb: round((sink.bytes - sinkBefore.bytes) / 1024, 1),
            },
          }
        : {}),
    };
  } finally {
    await worker?.stop();
    await world.close();
  }
}

const { prefix, cleanup } = benchPrefix('tracing');
const sink = await startSink();
try {
  const loadBefore = machineLoad();
  const rounds: Round[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    // off first in odd rounds, on first in even ones: neither side always runs on a warmer machine
    const order: ('off' | 'on')[] = r % 2 === 0 ? ['off', 'on'] : ['on', 'off'];
    for (const tracing of order) rounds.push(await runRound(`${prefix}-${r}-${tracing}`, tracing, sink));
  }
  const side = (t: 'off' | 'on') => rounds.filter((r) => r.tracing === t);
  const rate = (rs: Round[]) => rs.reduce((n, r) => n + r.orders, 0) / rs.reduce((s, r) => s + r.seconds, 0);
  const cpu = (rs: Round[]) =>
    rs.reduce((s, r) => s + r.cpuMsPerOrder.ingress + r.cpuMsPerOrder.worker, 0) / rs.length;
  const exported = side('on').reduce((n, r) => n + (r.exports?.requests ?? 0), 0);
  if (exported === 0) throw new Error('tracing on exported nothing: the SDK was not active');
  const off = rate(side('off'));
  const on = rate(side('on'));
  report('tracing', {
    layout:
      'ingress and worker (token,dispense,callback) each their own process, as in pipeline.bench.ts; the OTLP sink, simulators and producer in the bench process',
    ordersPerRound: N,
    rounds,
    ordersPerSec: { off: round(off, 1), on: round(on, 1) },
    cpuMsPerOrder: { off: round(cpu(side('off')), 3), on: round(cpu(side('on')), 3) },
    ratio: round(on / off, 3),
    // CPU hardly depends on how busy the shared machine is: the steadier measure of the overhead
    cpuRatio: round(cpu(side('on')) / cpu(side('off')), 3),
    exportedKbPerOrder: round(
      side('on').reduce((kb, r) => kb + (r.exports?.kb ?? 0), 0) / (N * side('on').length),
      2,
    ),
    summary: `traced ${round(on, 1)} vs untraced ${round(off, 1)} orders/s; CPU per order (ingress+worker) ${round(cpu(side('on')), 2)} vs ${round(cpu(side('off')), 2)} ms (cpuRatio ${round(cpu(side('on')) / cpu(side('off')), 3)})`,
    loadAverage1m: { before: loadBefore, after: machineLoad() },
  });
} finally {
  await sink.close();
  await cleanup();
}
process.exit(0);
