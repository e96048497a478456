// `pnpm start`: the whole system on this machine — machine simulator, owitho simulator with a
// steady stream of orders, ingress, one worker with every role — plus a progress line every
// few seconds. Ctrl-C stops everything; no process is left behind. The apps run from their
// TypeScript sources (tsx), so a fresh clone needs no build step; production runs dist/.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type OrderStats, OrderStore } from '@owc/order-store';
import { createProducer } from '@owc/queues';
import { closeRedis, createRedis } from '@owc/redis';
import { generateFleet } from '@owc/sim-fleet';

/** how often a wait loop looks again (each loop has its own deadline) */
const POLL_MS = 100;

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const logDir = join(root, '.local', 'logs');
const env = process.env;

const redisUrl = env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const keyPrefix = env.KEY_PREFIX ?? 'owc';
const ingressPort = Number(env.INGRESS_PORT ?? 3000);
const adminPort = Number(env.ADMIN_PORT ?? 3001);
const owithoPort = Number(env.OWITHO_SIM_PORT ?? 4000);
const machinePort = Number(env.MACHINE_SIM_PORT ?? 4100);
const workerMetricsPort = Number(env.WORKER_METRICS_PORT ?? 9464);
const machines = env.MACHINE_SIM_MACHINES ?? '4';
const slots = env.MACHINE_SIM_SLOTS ?? '12';
const appId = env.OWITHO_APP_ID ?? 'demo-app';
const secretKey = env.OWITHO_SECRET_KEY ?? 'demo-secret';
const adminUser = env.ADMIN_USER ?? 'admin';
const adminPassword = env.ADMIN_PASSWORD ?? 'admin';
const summaryEveryMs = Number(env.SUMMARY_EVERY_MS ?? 5000);

const children: { name: string; child: ChildProcess }[] = [];

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function answersPing(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((done) => {
    const socket = connect(Number(port || 6379), hostname);
    const finish = (ok: boolean) => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(1500, () => finish(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => finish(String(data).startsWith('+PONG')));
    socket.on('error', () => finish(false));
  });
}

function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('connect', () => {
      socket.destroy();
      done(false);
    });
    socket.on('error', () => done(true));
  });
}

/** The command line of one app, run from source. */
function app(name: string): string[] {
  return [process.execPath, '--conditions=@owc/source', '--import', 'tsx', `apps/${name}/src/main.ts`];
}

function start(name: string, args: string[], extraEnv: Record<string, string>): ChildProcess {
  const log = createWriteStream(join(logDir, `${name}.log`), { flags: 'a' });
  const child = spawn(args[0] as string, args.slice(1), {
    cwd: root,
    env: { ...env, LOG_LEVEL: env.LOG_LEVEL ?? 'info', ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  child.on('exit', (code, signal) => {
    if (!stopping) {
      say(`${name} exited (${signal ?? code}); see ${join(logDir, `${name}.log`)}`);
      void stopAll(1);
    }
  });
  children.push({ name, child });
  return child;
}

async function waitHttp(name: string, url: string, timeoutMs = 120_000): Promise<void> {
  say(`starting ${name}…`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url);
      if (res.status < 500) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${name} did not answer ${url} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

let stopping = false;
async function stopAll(code: number): Promise<never> {
  stopping = true;
  // traffic first, then the connector, then what it talks to, Redis last
  for (const { name, child } of [...children].reverse()) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => {
      say(`${name} did not stop in time: killing it`);
      child.kill('SIGKILL');
    }, 25_000);
    await exited;
    clearTimeout(timer);
  }
  process.exit(code);
}

async function main(): Promise<void> {
  mkdirSync(logDir, { recursive: true });
  for (const [name, port] of [
    ['ingress', ingressPort],
    ['ingress admin', adminPort],
    ['owitho-sim', owithoPort],
    ['machine-sim', machinePort],
    ['worker metrics', workerMetricsPort],
  ] as const) {
    if (!(await portFree(port))) {
      say(`port ${port} (${name}) is taken: stop what uses it or set its port variable (see README)`);
      process.exit(1);
    }
  }
  if (!(await answersPing(redisUrl))) {
    const hasServer = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
    if (!hasServer) {
      say(`No Redis answers at ${redisUrl} and redis-server is not installed.`);
      say('Get one: `docker compose up -d redis`, or `apt-get install redis-server`, or set REDIS_URL.');
      process.exit(1);
    }
    const port = new URL(redisUrl).port || '6379';
    say(`no Redis at ${redisUrl}: starting redis-server on port ${port} for this session`);
    start(
      'redis',
      ['redis-server', '--port', port, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {},
    );
    const deadline = Date.now() + 10_000;
    while (!(await answersPing(redisUrl))) {
      if (Date.now() > deadline) throw new Error('redis-server did not start');
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  const common = { REDIS_URL: redisUrl, KEY_PREFIX: keyPrefix };
  const machineUrl = `http://127.0.0.1:${machinePort}`;
  const owithoUrl = `http://127.0.0.1:${owithoPort}`;
  const ingressUrl = `http://127.0.0.1:${ingressPort}`;
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  start('machine-sim', app('machine-sim'), {
    MACHINE_SIM_PORT: String(machinePort),
    MACHINE_SIM_MACHINES: machines,
    MACHINE_SIM_SLOTS: slots,
    MACHINE_SIM_INVENTORY: env.MACHINE_SIM_INVENTORY ?? '1000',
    MACHINE_SIM_VEND_MS: env.MACHINE_SIM_VEND_MS ?? '300',
  });
  await waitHttp('machine-sim', `${machineUrl}/ledger`);
  start('owitho-sim', app('owitho-sim'), {
    OWITHO_SIM_PORT: String(owithoPort),
    OWITHO_SIM_THIRD_URL: ingressUrl,
    OWITHO_SIM_APP_ID: appId,
    OWITHO_SIM_SECRET_KEY: secretKey,
    OWITHO_SIM_SEED_MACHINES: machines,
    OWITHO_SIM_SEED_SLOTS: slots,
    OWITHO_SIM_STREAM_RATE: env.OWITHO_SIM_STREAM_RATE ?? '2',
    OWITHO_SIM_DUPLICATE_RATE: env.OWITHO_SIM_DUPLICATE_RATE ?? '0.1',
    OWITHO_SIM_TOLERANT_SHARE: env.OWITHO_SIM_TOLERANT_SHARE ?? '0.2',
    OWITHO_SIM_ERROR_RATE: env.OWITHO_SIM_ERROR_RATE ?? '0.02',
  });
  await waitHttp('owitho-sim', `${owithoUrl}/_sim/state`);
  const connector = {
    ...common,
    OWITHO_BASE_URL: owithoUrl,
    OWITHO_APP_ID: appId,
    OWITHO_SECRET_KEY: secretKey,
    MACHINE_GATEWAY_URL: machineUrl,
    ADMIN_USER: adminUser,
    ADMIN_PASSWORD: adminPassword,
  };
  start('worker', app('worker'), {
    ...connector,
    WORKER_ROLES: env.WORKER_ROLES ?? 'dispense,callback,sync,token',
    WORKER_METRICS_PORT: String(workerMetricsPort),
  });
  await waitHttp('worker', `http://127.0.0.1:${workerMetricsPort}/healthz`);
  start('ingress', app('ingress'), {
    ...connector,
    INGRESS_PORT: String(ingressPort),
    ADMIN_PORT: String(adminPort),
  });
  await waitHttp('ingress', `${ingressUrl}/healthz`);
  await waitHttp('ingress admin', `${adminUrl}/healthz`);

  say('');
  say('owitho-connector is running:');
  say(`  ingress     ${ingressUrl}   (owitho's calls, /healthz, /readyz)`);
  say(`  dashboard   ${adminUrl}/admin/queues   (user ${adminUser}, password ${adminPassword})`);
  say(`  admin port  ${adminUrl}   (metrics ${adminUrl}/metrics, OpenAPI ${adminUrl}/docs/openapi.json)`);
  say(`  owitho sim  ${owithoUrl}/_sim/state   machine sim ${machineUrl}/ledger`);
  say(`  logs        ${logDir}/*.log`);
  say('Ctrl-C stops everything.');
  say('');

  const redis = createRedis({ url: redisUrl }, 'worker');
  const store = new OrderStore({ redis, keyPrefix, ttlMs: 24 * 3600 * 1000 });
  // what the ERP and the restocking app would send: the catalogue, and a restock per machine
  const producer = createProducer(redis, { keyPrefix });
  const fleet = generateFleet({ machines: Number(machines), slotsPerMachine: Number(slots) });
  await producer.enqueue('sku.upsert', { skus: fleet.skus });
  for (const machine of fleet.machines)
    await producer.enqueue('machine.restocked', { machineCode: machine.machineCode });
  say(
    `enqueued sku.upsert (${fleet.skus.length} SKUs) and a machine.restocked per machine: watch the sync queues`,
  );
  const base: OrderStats = await store.stats();
  const timer = setInterval(() => {
    store.stats().then(
      (now) => {
        const d = (k: keyof OrderStats) => now[k] - base[k];
        say(
          `${new Date().toISOString().slice(11, 19)}  accepted ${d('accepted')}  vended ${d('succeeded') + d('partial')}` +
            `  called back ${d('reported')}  failed ${d('failed')}  duplicates ${d('duplicates')}  dead ${d('dead')}`,
        );
      },
      () => say('(progress unavailable: Redis did not answer)'),
    );
  }, summaryEveryMs);
  const onSignal = () => {
    if (stopping) return;
    clearInterval(timer);
    say('stopping…');
    void producer
      .close()
      .then(() => closeRedis(redis))
      .then(() => stopAll(0));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

main().catch((error: unknown) => {
  say(`start failed: ${error instanceof Error ? error.message : String(error)}`);
  void stopAll(1);
});
