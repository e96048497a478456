import { type StartedMachineSim, startMachineSim } from '@owc/machine-sim';
import { OrderStore } from '@owc/order-store';
import { type StartedOwithoSim, startOwithoSim } from '@owc/owitho-sim';
import type { OrderNotice } from '@owc/protocol';
import { createProducer, type Producer } from '@owc/queues';
import type { FleetOptions } from '@owc/sim-fleet';
import type { Redis } from 'ioredis';
import { expect } from 'vitest';
import { simWorkerEnv } from '../system-support.js';

export const APP = { appId: 'app-faults', secretKey: 'secret-faults' };

/** A fault case's worker settings over simWorkerEnv's: short timeouts and schedule, warnings logged. */
export const FAULT_WORKER_SETTINGS: Record<string, string> = {
  LOG_LEVEL: 'warn',
  GATEWAY_VEND_TIMEOUT_MS: '10000',
  MACHINE_LEASE_TTL_MS: '15000',
  MACHINE_LEASE_WAIT_MS: '50',
  JOB_LOCK_DURATION_MS: '3000',
  VEND_RESOLVE_BACKOFF_MS: '100,200,400',
  CALLBACK_SCHEDULE_MS: '500,1000,2000,4000,8000,8000,8000,8000,8000,8000',
  CALLBACK_JITTER: '0',
  TOKEN_POLL_MS: '100',
};

/** A fault case without the ingress: orders are accepted the ingress's way (acceptOrder). */
export interface FaultSims {
  machines: StartedMachineSim;
  owitho: StartedOwithoSim;
  store: OrderStore;
  producer: Producer;
  /** a worker's settings against both simulators: FAULT_WORKER_SETTINGS, then `extra` */
  workerEnv(extra?: Record<string, string>): Record<string, string>;
  close(): Promise<void>;
}

/** Both simulators (owitho-sim pushes nothing), the order store and a producer on `redis`. */
export async function startFaultSims(
  redis: Redis,
  redisUrl: string,
  prefix: string,
  machineSim: { fleet: FleetOptions; vendDurationMs: number },
): Promise<FaultSims> {
  const machines = await startMachineSim(machineSim);
  const owitho = await startOwithoSim(APP);
  const producer = createProducer(redis, { keyPrefix: prefix });
  return {
    machines,
    owitho,
    store: new OrderStore({ redis, keyPrefix: prefix, ttlMs: 3600_000 }),
    producer,
    workerEnv: (extra = {}) =>
      simWorkerEnv(redisUrl, prefix, APP, { owitho, machines }, { ...FAULT_WORKER_SETTINGS, ...extra }),
    async close() {
      await producer.close();
      await owitho.close();
      await machines.close();
    },
  };
}

const unitsOf = (n: OrderNotice) => n.orderDetailList.reduce((s, l) => s + l.quantity, 0);

/**
 * The exactly-once ledger check every fault case ends in: the machine simulator's ledger has
 * no vendId twice, every paid unit is in it, and every order was called back (owitho-sim
 * received its final result).
 */
export async function expectExactlyOnce(
  machines: StartedMachineSim,
  owitho: StartedOwithoSim,
  store: OrderStore,
  notices: readonly OrderNotice[],
): Promise<void> {
  const ledger = (await (await fetch(`${machines.url}/ledger`)).json()) as { vendId: string }[];
  const vendIds = ledger.map((e) => e.vendId);
  expect(new Set(vendIds).size).toBe(vendIds.length);
  for (const n of notices) {
    for (let i = 0; i < unitsOf(n); i++) expect(vendIds).toContain(`${n.orderViewId}-${i}`);
    expect(owitho.sim.callbacks(n.orderViewId).length).toBeGreaterThan(0);
    expect((await store.get(n.orderViewId))?.state).toBe('reported');
  }
  expect(vendIds.length).toBe(notices.reduce((s, n) => s + unitsOf(n), 0));
}
