import { loadIngressConfig, type RunningIngress, startIngress } from '@owc/ingress';
import { type StartedMachineSim, startMachineSim } from '@owc/machine-sim';
import { createLogger, type Registry } from '@owc/observability';
import { OrderStore } from '@owc/order-store';
import { type StartedOwithoSim, startOwithoSim } from '@owc/owitho-sim';
import type { OrderNotice } from '@owc/protocol';
import { redisTest, waitFor } from '@owc/testing';
import { loadWorkerConfig, type RunningWorker, runWorker } from '@owc/worker';
import type { Redis } from 'ioredis';
import { describe, expect } from 'vitest';
import { APP, expectExactlyOnce } from './fault-support.js';
import { TcpSwitch } from './tcp-switch.js';

const SEED = { machines: 3, slotsPerMachine: 6 };
/** orders owitho pushes before, during and after each fault */
const BATCH = 8;
/** how long a fault stays once it has been felt (a fault window, not a threshold) */
const FAULT_MS = 2500;
const silent = (name: string) => createLogger({ level: 'silent', name });

interface System {
  machines: StartedMachineSim;
  gateway: TcpSwitch;
  ingress: RunningIngress;
  owitho: StartedOwithoSim;
  worker: RunningWorker;
  store: OrderStore;
  close(): Promise<void>;
}

/**
 * Both simulators, the ingress and a worker (token, dispense, callback) in-process; the worker
 * reaches machine-sim through a TcpSwitch, and owitho-sim pushes its notices to the ingress.
 */
async function startSystem(
  redis: Redis,
  redisUrl: string,
  prefix: string,
  workerEnv: Record<string, string>,
): Promise<System> {
  const machines = await startMachineSim({ fleet: { ...SEED, inventory: 1000 }, vendDurationMs: 20 });
  const gateway = await TcpSwitch.start(machines.url);
  const ingress = await startIngress(
    loadIngressConfig({
      REDIS_URL: redisUrl,
      KEY_PREFIX: prefix,
      OWITHO_APP_ID: APP.appId,
      INGRESS_HOST: '127.0.0.1',
      INGRESS_PORT: '0',
      ADMIN_HOST: '127.0.0.1',
      ADMIN_PORT: '0',
      MACHINE_GATEWAY_URL: machines.url,
      ADMIN_USER: 'admin',
      ADMIN_PASSWORD: 'admin-pass',
      LOG_LEVEL: 'silent',
    }),
    silent('ingress'),
  );
  const owitho = await startOwithoSim({
    ...APP,
    thirdUrl: ingress.url,
    noticeRetryMs: 300,
    queryAfterMs: 3_600_000,
    seed: SEED,
    logger: silent('owitho-sim'),
  });
  const worker = await runWorker(
    loadWorkerConfig({
      REDIS_URL: redisUrl,
      KEY_PREFIX: prefix,
      OWITHO_BASE_URL: owitho.url,
      OWITHO_APP_ID: APP.appId,
      OWITHO_SECRET_KEY: APP.secretKey,
      MACHINE_GATEWAY_URL: gateway.url,
      WORKER_ROLES: 'token,dispense,callback',
      WORKER_METRICS_PORT: '-1',
      LOG_LEVEL: 'silent',
      GATEWAY_VEND_TIMEOUT_MS: '1000',
      GATEWAY_QUERY_TIMEOUT_MS: '500',
      MACHINE_LEASE_TTL_MS: '4000',
      MACHINE_LEASE_WAIT_MS: '50',
      VEND_RESOLVE_BACKOFF_MS: '100,200,400',
      JOB_LOCK_DURATION_MS: '5000',
      CALLBACK_SCHEDULE_MS: Array.from({ length: 30 }, (_, i) => Math.min(200 * 2 ** i, 1000)).join(','),
      CALLBACK_JITTER: '0',
      ...workerEnv,
    }),
    silent('worker'),
  );
  return {
    machines,
    gateway,
    ingress,
    owitho,
    worker,
    store: new OrderStore({ redis, keyPrefix: prefix, ttlMs: 3600_000 }),
    async close() {
      await owitho.close();
      await worker.close();
      await ingress.close();
      await gateway.close();
      await machines.close();
    },
  };
}

async function metricSum(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))
    .reduce((sum, v) => sum + v.value, 0);
}

async function reported(store: OrderStore, ids: readonly string[]): Promise<number> {
  const records = await Promise.all(ids.map((id) => store.get(id)));
  return records.filter((r) => r?.state === 'reported').length;
}

/**
 * Keeps a fault on: from `on()` until `felt()` says the system ran into it, then FAULT_MS more
 * while owitho keeps pushing; then `off()`.
 */
async function fault(
  system: System,
  ids: string[],
  on: () => Promise<void> | void,
  felt: () => Promise<boolean> | boolean,
  off: () => Promise<void> | void,
  what: string,
): Promise<void> {
  await on();
  ids.push(...system.owitho.sim.pushGenerated(BATCH));
  await waitFor(felt, { timeoutMs: 30_000, what: `${what} felt` });
  const until = Date.now() + FAULT_MS;
  await waitFor(() => Date.now() > until, { timeoutMs: FAULT_MS + 5000, intervalMs: 100, what });
  await off();
}

/** Every order reported; then the exactly-once ledger check. */
async function expectAllReported(system: System, ids: string[]): Promise<void> {
  await waitFor(async () => (await reported(system.store, ids)) === ids.length, {
    timeoutMs: 120_000,
    intervalMs: 100,
    what: 'every order reported',
  });
  const notices = ids.map((id) => system.owitho.sim.order(id)?.notice).filter((n) => n !== undefined);
  expect(notices).toHaveLength(ids.length);
  await expectExactlyOnce(system.machines, system.owitho, system.store, notices as OrderNotice[]);
  expect(system.machines.sim.stats().doubleVends).toBe(0);
}

describe('fault: a peer refuses or hangs while orders flow', () => {
  redisTest(
    'the machine gateway refused, then hung: every order dispensed once and called back',
    async ({ redis, redisUrl, prefix }) => {
      // the budget outlasts the outage: the units wait for the gateway instead of failing
      const system = await startSystem(redis, redisUrl, prefix, {
        VEND_RETRY_BUDGET: '20',
        VEND_RETRY_DELAY_MS: '300',
      });
      const metrics = system.worker.context.metrics;
      const vends = (result: string) => metricSum(metrics, 'owc_machine_vends_total', { result });
      try {
        const ids = system.owitho.sim.pushGenerated(BATCH);
        await waitFor(async () => (await reported(system.store, ids)) >= 2, {
          timeoutMs: 60_000,
          what: 'orders flowing',
        });
        await fault(
          system,
          ids,
          () => system.gateway.set('refuse'),
          async () => (await vends('unavailable')) > 0,
          () => system.gateway.set('pass'),
          'gateway refusing',
        );
        await fault(
          system,
          ids,
          () => system.gateway.set('hang'),
          async () => (await vends('timeout')) > 0,
          () => system.gateway.set('pass'),
          'gateway hung',
        );
        ids.push(...system.owitho.sim.pushGenerated(BATCH));
        await expectAllReported(system, ids);
        const callbacks = ids.reduce((n, id) => n + system.owitho.sim.callbacks(id).length, 0);
        expect(callbacks).toBe(ids.length);
        // both faults were run into: sends refused, sends unanswered (the figures: docs/reliability.md)
        expect(await vends('unavailable')).toBeGreaterThan(0);
        expect(await vends('timeout')).toBeGreaterThan(0);
      } finally {
        await system.close();
      }
    },
    240_000,
  );

  redisTest(
    'owitho answered 503, then hung: every order dispensed once and called back once',
    async ({ redis, redisUrl, prefix }) => {
      const system = await startSystem(redis, redisUrl, prefix, {
        OWITHO_CONNECT_TIMEOUT_MS: '500',
        OWITHO_HEADERS_TIMEOUT_MS: '1000',
        OWITHO_BODY_TIMEOUT_MS: '1000',
      });
      const { sim } = system.owitho;
      const answered = (kind: string) =>
        Object.values(sim.requestCounts()).reduce((n, byAnswer) => n + (byAnswer[kind] ?? 0), 0);
      try {
        const ids = sim.pushGenerated(BATCH);
        await waitFor(async () => (await reported(system.store, ids)) >= 2, {
          timeoutMs: 60_000,
          what: 'orders flowing',
        });
        await fault(
          system,
          ids,
          () => sim.setFaults({ status503: true }),
          () => answered('http503') > 0,
          () => sim.clearFaults(),
          'owitho answering 503',
        );
        await fault(
          system,
          ids,
          () => sim.setFaults({ hang: true }),
          // a held request is counted once it is let go: hold on to it until then
          () => sim.state().heldRequests > 0,
          () => sim.clearFaults(),
          'owitho hung',
        );
        ids.push(...sim.pushGenerated(BATCH));
        await expectAllReported(system, ids);
        // owitho recorded one callback per order: nothing it answered was sent again
        for (const id of ids) expect(sim.callbacks(id)).toHaveLength(1);
        // both faults were run into: answers of 503, requests held (the figures: docs/reliability.md)
        expect(answered('http503')).toBeGreaterThan(0);
        expect(answered('hang')).toBeGreaterThan(0);
      } finally {
        await system.close();
      }
    },
    240_000,
  );
});
