import { startMachineSim } from '@owc/machine-sim';
import { startOwithoSim } from '@owc/owitho-sim';
import { freePort, redisTest, waitFor } from '@owc/testing';
import { describe, expect } from 'vitest';
import { type AppProcess, spawnApp, waitHttp } from './system-support.js';

const APP = { appId: 'app-prod', secretKey: 'secret-prod' };
const FLEET = { machines: 4, slotsPerMachine: 6, inventory: 1000 };
const ORDERS = 300;

interface LedgerEntry {
  vendId: string;
  status: string;
}

describe('a production-like run', () => {
  redisTest(
    '1 ingress + 3 workers, SIGTERM and SIGKILL during the run: every order called back, no unit vended twice',
    async ({ redisUrl, prefix }) => {
      const machines = await startMachineSim({ fleet: FLEET, vendDurationMs: 15 });
      const ingressPort = await freePort();
      const ingressUrl = `http://127.0.0.1:${ingressPort}`;
      const owitho = await startOwithoSim({
        ...APP,
        thirdUrl: ingressUrl,
        noticeRetryMs: 300,
        duplicateRate: 0.1,
        queryAfterMs: 600_000,
        seed: { machines: FLEET.machines, slotsPerMachine: FLEET.slotsPerMachine },
      });
      const common = {
        REDIS_URL: redisUrl,
        KEY_PREFIX: prefix,
        OWITHO_APP_ID: APP.appId,
        MACHINE_GATEWAY_URL: machines.url,
        LOG_LEVEL: 'warn',
      };
      const workerEnv = {
        ...common,
        OWITHO_BASE_URL: owitho.url,
        OWITHO_SECRET_KEY: APP.secretKey,
        WORKER_ROLES: 'dispense,callback,token',
        WORKER_METRICS_PORT: '-1',
        SHUTDOWN_TIMEOUT_MS: '5000',
        GATEWAY_VEND_TIMEOUT_MS: '1000',
        MACHINE_LEASE_TTL_MS: '2000',
        MACHINE_LEASE_WAIT_MS: '20',
        JOB_LOCK_DURATION_MS: '2000',
        VEND_RESOLVE_BACKOFF_MS: '50,100,200',
        CALLBACK_SCHEDULE_MS: '200,400,800,1600',
      };
      const ingress = spawnApp('ingress', {
        ...common,
        INGRESS_HOST: '127.0.0.1',
        INGRESS_PORT: String(ingressPort),
        ADMIN_HOST: '127.0.0.1',
        ADMIN_PORT: '0',
        ADMIN_USER: 'admin',
        ADMIN_PASSWORD: 'admin',
      });
      const workers: AppProcess[] = [0, 1, 2].map(() => spawnApp('worker', workerEnv));
      const stopped: AppProcess[] = [];
      try {
        await waitHttp(`${ingressUrl}/healthz`);
        const ids = owitho.sim.pushGenerated(ORDERS);
        const calledBack = () => ids.filter((id) => (owitho.sim.order(id)?.callbacks.length ?? 0) > 0).length;

        // a rolling deploy: SIGTERM one worker a third of the way in, and it must exit 0
        await waitFor(() => calledBack() >= ORDERS / 3, {
          timeoutMs: 120_000,
          what: 'a third of the callbacks',
        });
        const graceful = workers.shift() as AppProcess;
        stopped.push(graceful);
        const exit = await graceful.kill('SIGTERM');
        expect(exit.code, graceful.output()).toBe(0);
        workers.push(spawnApp('worker', workerEnv));

        // a crash: SIGKILL another two thirds of the way in
        await waitFor(() => calledBack() >= (2 * ORDERS) / 3, {
          timeoutMs: 120_000,
          what: 'two thirds of the callbacks',
        });
        const crashed = workers.shift() as AppProcess;
        stopped.push(crashed);
        await crashed.kill('SIGKILL');
        workers.push(spawnApp('worker', workerEnv));

        await waitFor(() => calledBack() === ORDERS, { timeoutMs: 180_000, what: 'every callback' });

        const ledger = (await (await fetch(`${machines.url}/ledger`)).json()) as LedgerEntry[];
        const vendIds = ledger.map((e) => e.vendId);
        expect(new Set(vendIds).size).toBe(vendIds.length);
        let unitsReported = 0;
        let unitsDropped = 0;
        let doubleDelivered = 0;
        for (const id of ids) {
          const order = owitho.sim.order(id);
          const callbacks = order?.callbacks ?? [];
          expect(callbacks.length).toBeGreaterThanOrEqual(1);
          // a callback delivered twice (a kill between owitho's 200 and our bookkeeping) says the same thing
          for (const c of callbacks) expect(c.payload).toEqual(callbacks[0]?.payload);
          if (callbacks.length > 1) doubleDelivered++;
          const units = order?.notice?.orderDetailList.reduce((n, l) => n + l.quantity, 0) ?? 0;
          const detail = callbacks[0]?.payload.outDetailList ?? [];
          expect(detail).toHaveLength(units);
          unitsReported += units;
          unitsDropped += detail.filter((d) => d.status === 200).length;
        }
        // every unit reported as dropped is in the ledger once, and nothing else dropped
        const succeeded = ledger.filter((e) => e.status === 'success').length;
        expect(succeeded).toBe(unitsDropped);
        expect(unitsDropped).toBe(unitsReported);
        // only the SIGKILL can double a delivery, and only for callbacks it had in flight
        expect(doubleDelivered).toBeLessThanOrEqual(32);
      } finally {
        await Promise.all([...workers, ingress].map((p) => p.kill('SIGTERM')));
        await owitho.close();
        await machines.close();
      }
    },
    420_000,
  );
});
