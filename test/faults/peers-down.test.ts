import { startMachineSim } from '@owc/machine-sim';
import type { Registry } from '@owc/observability';
import type { OrderStore } from '@owc/order-store';
import type { OrderNotice } from '@owc/protocol';
import { redisTest, TcpSwitch, waitFor } from '@owc/testing';
import { describe, expect } from 'vitest';
import { type System, startSystem } from '../system-support.js';
import { APP, expectExactlyOnce } from './fault-support.js';

const SEED = { machines: 3, slotsPerMachine: 6 };
/** orders owitho pushes before, during and after each fault */
const BATCH = 8;
/** how long a fault stays once it has been felt (a fault window, not a threshold) */
const FAULT_MS = 2500;

interface SwitchedSystem extends System {
  gateway: TcpSwitch;
}

/**
 * The system in-process (test/system-support.ts), with the worker reaching machine-sim through a
 * TcpSwitch; owitho-sim pushes its notices to the ingress.
 */
async function startSwitchedSystem(
  redisUrl: string,
  prefix: string,
  workerEnv: Record<string, string>,
): Promise<SwitchedSystem> {
  const machines = await startMachineSim({ fleet: { ...SEED, inventory: 1000 }, vendDurationMs: 20 });
  const gateway = await TcpSwitch.start(machines.url);
  const system = await startSystem(redisUrl, prefix, {
    app: APP,
    seed: SEED,
    machines,
    owitho: { noticeRetryMs: 300 },
    workerEnv: {
      MACHINE_GATEWAY_URL: gateway.url,
      GATEWAY_VEND_TIMEOUT_MS: '1000',
      GATEWAY_QUERY_TIMEOUT_MS: '500',
      MACHINE_LEASE_TTL_MS: '4000',
      MACHINE_LEASE_WAIT_MS: '50',
      VEND_RESOLVE_BACKOFF_MS: '100,200,400',
      JOB_LOCK_DURATION_MS: '5000',
      CALLBACK_SCHEDULE_MS: Array.from({ length: 30 }, (_, i) => Math.min(200 * 2 ** i, 1000)).join(','),
      CALLBACK_JITTER: '0',
      ...workerEnv,
    },
  });
  return {
    ...system,
    gateway,
    async close() {
      await system.close();
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
    async ({ redisUrl, prefix }) => {
      // VEND_RETRY_BUDGET × VEND_RETRY_DELAY_MS at their defaults (3 × 2 s), shorter than the
      // outage: a unit sent once is asked about before anything else, and one that cannot be
      // asked waits for the gateway instead of failing (docs/reliability.md); the ledger check
      // fails if any paid unit ended failed
      const system = await startSwitchedSystem(redisUrl, prefix, {});
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
    async ({ redisUrl, prefix }) => {
      const system = await startSwitchedSystem(redisUrl, prefix, {
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
