// Ingress accept: POST /order/notice with real signed envelopes and distinct orderViewIds, against
// two baselines in the same run: `bare`, a Fastify route doing one queue.add per request and
// checking nothing; and `verify-only`, the same route after what the protocol forces on any
// connector (openEnvelope: signature, `data` parsed, the order-notice schema), its job keyed by
// the orderViewId (the naive connector's ingress). verify-only ÷ bare is the best ratio to bare
// any connector that verifies signatures can reach.
//
// Layout (identical for every side): the server runs in a child process (bench/lib/ingress-server.ts),
// autocannon runs in this process, Redis is the shared one. On 2 cores the three compete for CPU
// either way; keeping the server in its own process means the load generator's work is not added
// to the server's event loop. Bodies are signed before each phase, so the timed loop only sends.

import { signEnvelope } from '@owc/protocol';
import { generateFleet } from '@owc/sim-fleet';
import autocannon from 'autocannon';
import { report, round } from './lib/report.js';
import {
  APP,
  APPS_FROM,
  benchPrefix,
  envNumber,
  machineLoad,
  procStat,
  redisServerPid,
  seedToken,
  spawnNode,
} from './lib/system.js';

/** timed seconds per round; each side gets PAIRS rounds */
const ROUND_SECONDS = envNumber('BENCH_INGRESS_SECONDS', 5);
const PAIRS = envNumber('BENCH_INGRESS_PAIRS', 3);
const WARMUP_SECONDS = 2;
const CONNECTIONS = envNumber('BENCH_INGRESS_CONNECTIONS', 32);
/** enough bodies for any plausible rate; beyond them bodies are signed on the fly */
const POOL = envNumber('BENCH_INGRESS_POOL', 120_000);

const machine = generateFleet({ machines: 1, slotsPerMachine: 4 }).machines[0];
const slot = machine?.slotList[0];
if (!machine || !slot) throw new Error('no machine in the generated fleet');

let counter = 0;
function body(token: string): string {
  counter++;
  const notice = {
    orderViewId: `B${process.pid}-${counter}`,
    machineCode: machine?.machineCode,
    containerCode: '01',
    discountMoney: '0.00',
    originAmount: slot?.originalPrice,
    actualAmount: slot?.originalPrice,
    payStatus: 1,
    refundStatus: 0,
    orderTime: Date.now() - 1000,
    payCompleteTime: Date.now(),
    payMethod: 2,
    orderDetailList: [
      {
        skuCode: slot?.skuCode,
        slotNum: slot?.slotNum,
        quantity: 1,
        originalPrice: slot?.originalPrice,
        actualPrice: slot?.actualPrice,
      },
    ],
  };
  return JSON.stringify(signEnvelope(notice, { appId: APP.appId }, [token]));
}

interface Round {
  reqPerSec: number;
  requests: number;
  p50Ms: number;
  p99Ms: number;
  failed: number;
  serverCpuMs: number;
  /** CPU per wall second of the round (1 = one full core) */
  cpuShare: { server: number; redis: number; loadGenerator: number };
}

type Mode = 'bare' | 'verify-only' | 'ingress';

interface Server {
  mode: Mode;
  url: string;
  pid: number;
  stop(): Promise<void>;
}

async function startServer(mode: Mode, prefix: string, token: string): Promise<Server> {
  // BENCH_APPS_FROM=dist: every side imports the workspace packages from their dist/
  const child = spawnNode('bench/lib/ingress-server.ts', [mode, prefix, token], {}, 'ingress');
  try {
    const { url, pid } = await child.line<{ url: string; pid: number }>('url');
    return { mode, url, pid, stop: () => child.stop() };
  } catch (error) {
    await child.stop();
    throw error;
  }
}

function makeLoader(token: string) {
  const pool = Array.from({ length: POOL }, () => body(token));
  let next = 0;
  return async (server: Server, seconds: number, redisPid: number): Promise<Round> => {
    const before = { server: procStat(server.pid), redis: procStat(redisPid), self: process.cpuUsage() };
    const result = await autocannon({
      url: `${server.url}/order/notice`,
      connections: CONNECTIONS,
      duration: seconds,
      requests: [
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          setupRequest: (request) => ({ ...request, body: pool[next++] ?? body(token) }),
        },
      ],
    });
    const after = {
      server: procStat(server.pid),
      redis: procStat(redisPid),
      self: process.cpuUsage(before.self),
    };
    const share = (ms: number) => round(ms / (seconds * 1000), 2);
    const serverCpuMs = after.server.cpuMs - before.server.cpuMs;
    return {
      reqPerSec: round(result.requests.total / seconds, 0),
      requests: result.requests.total,
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      failed: result.non2xx + result.errors + result.timeouts,
      serverCpuMs,
      cpuShare: {
        server: share(serverCpuMs),
        redis: share(after.redis.cpuMs - before.redis.cpuMs),
        loadGenerator: share((after.self.user + after.self.system) / 1000),
      },
    };
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function summary(rounds: Round[]) {
  const requests = rounds.reduce((n, r) => n + r.requests, 0);
  return {
    reqPerSec: round(requests / (rounds.length * ROUND_SECONDS), 0),
    requests,
    p50Ms: median(rounds.map((r) => r.p50Ms)),
    p99Ms: median(rounds.map((r) => r.p99Ms)),
    failed: rounds.reduce((n, r) => n + r.failed, 0),
    serverCpuMsPerRequest: round(rounds.reduce((n, r) => n + r.serverCpuMs, 0) / Math.max(1, requests), 3),
    cpuShare: {
      server: median(rounds.map((r) => r.cpuShare.server)),
      redis: median(rounds.map((r) => r.cpuShare.redis)),
      loadGenerator: median(rounds.map((r) => r.cpuShare.loadGenerator)),
    },
    roundsReqPerSec: rounds.map((r) => r.reqPerSec),
  };
}

/** a ÷ b as a rate ratio (req/s) and as a CPU ratio (b's CPU per request ÷ a's): 1 = as good as b */
function versus(a: ReturnType<typeof summary>, b: ReturnType<typeof summary>) {
  return {
    reqPerSec: round(a.reqPerSec / b.reqPerSec, 3),
    cpuPerRequest: round(b.serverCpuMsPerRequest / a.serverCpuMsPerRequest, 3),
  };
}

const { prefix, cleanup } = benchPrefix('ingress');
const servers: Server[] = [];
try {
  const token = await seedToken(prefix);
  const loadBefore = machineLoad();
  const redisPid = await redisServerPid();
  const bare = await startServer('bare', prefix, token);
  servers.push(bare);
  const verifyOnly = await startServer('verify-only', prefix, token);
  servers.push(verifyOnly);
  const ingress = await startServer('ingress', prefix, token);
  servers.push(ingress);
  const load = makeLoader(token);
  for (const server of servers) await load(server, WARMUP_SECONDS, redisPid);
  // the order rotates and reverses from round to round (bare, verify-only, ingress; then
  // ingress, verify-only, bare; …): a drift in the machine's load hits every side alike
  const rounds: Record<Mode, Round[]> = { bare: [], 'verify-only': [], ingress: [] };
  for (let pair = 0; pair < PAIRS; pair++) {
    const order = pair % 2 === 0 ? servers : [...servers].reverse();
    for (const server of order) rounds[server.mode].push(await load(server, ROUND_SECONDS, redisPid));
  }
  const a = summary(rounds.ingress);
  const b = summary(rounds.bare);
  const v = summary(rounds['verify-only']);
  const toVerifyOnly = versus(a, v);
  const verifyOnlyToBare = versus(v, b);
  report('ingress', {
    layout: 'each server in its own child process, autocannon in the bench process, shared local Redis',
    appsFrom: APPS_FROM,
    connections: CONNECTIONS,
    rounds: `${PAIRS} x ${ROUND_SECONDS} s per side, rotating`,
    ingress: a,
    bare: b,
    verifyOnly: v,
    ratio: round(a.reqPerSec / b.reqPerSec, 3),
    pairRatios: rounds.ingress.map((r, i) =>
      round(r.reqPerSec / (rounds.bare[i]?.reqPerSec ?? Number.NaN), 2),
    ),
    cpuPerRequestRatio: round(b.serverCpuMsPerRequest / a.serverCpuMsPerRequest, 3),
    /** ours ÷ verify-only */
    ratioToVerifyOnly: toVerifyOnly,
    /** verify-only ÷ bare: the most any connector that verifies signatures can reach against bare */
    verifyOnlyToBare,
    target: 0.8,
    summary:
      `CPU per request ${a.serverCpuMsPerRequest} ms, verify-only ${v.serverCpuMsPerRequest}, bare ${b.serverCpuMsPerRequest}; ` +
      `ours ÷ verify-only ${toVerifyOnly.reqPerSec} (CPU ${toVerifyOnly.cpuPerRequest}), ` +
      `verify-only ÷ bare ${verifyOnlyToBare.reqPerSec} (CPU ${verifyOnlyToBare.cpuPerRequest})`,
    loadAverage1m: { before: loadBefore, after: machineLoad() },
  });
} finally {
  await Promise.all(servers.map((s) => s.stop()));
  await cleanup();
}
process.exit(0);
