import type { OrderNotice } from '@owc/protocol';
import { type FleetOptions, generateFleet } from '@owc/sim-fleet';
import { noticeFor, redisTest, waitFor } from '@owc/testing';
import { describe, expect } from 'vitest';
import { acceptOrder, spawnWorker } from '../order-path-support.js';
import type { AppProcess } from '../system-support.js';
import { expectExactlyOnce, startFaultSims } from './fault-support.js';

const FLEET: FleetOptions = { machines: 2, slotsPerMachine: 4, inventory: 500 };
/** the target: at most this many getAccessToken attempts in the first minute with a wrong secret */
const FIRST_MINUTE_MAX = 8;
const MINUTE = 60_000;

describe('fault: wrong secret', () => {
  redisTest(
    'orders flowing for a minute with a wrong secret: ≤ 8 token fetches, /readyz says misconfigured, nothing vended twice; fixed secret + restart: every order called back within a minute',
    async ({ redis, redisUrl, prefix }) => {
      const sims = await startFaultSims(redis, redisUrl, prefix, { fleet: FLEET, vendDurationMs: 20 });
      const { machines, owitho, store, producer } = sims;
      const fleet = generateFleet(FLEET).machines;
      const env = sims.workerEnv({ WORKER_METRICS_PORT: '0', LOG_LEVEL: 'info' });
      const fetches = () =>
        Object.values(owitho.sim.requestCounts()['/getAccessToken'] ?? {}).reduce((s, n) => s + n, 0);
      const wrong = spawnWorker({ ...env, OWITHO_SECRET_KEY: 'not-the-secret' });
      // watched as it comes (the process's kept output is trimmed under load)
      let loud = false;
      let leaked = false;
      let metricsPort: number | undefined;
      wrong.child.stdout?.on('data', (chunk: Buffer) => {
        const text = chunk.toString();
        const port = /"metricsPort":(\d+)/.exec(text);
        if (port) metricsPort = Number(port[1]);
        if (text.includes('MISCONFIGURATION')) loud = true;
        if (text.includes('not-the-secret')) leaked = true;
      });
      let fixed: AppProcess | undefined;
      const notices: OrderNotice[] = [];
      try {
        const firstAt = await waitFor(() => (fetches() > 0 ? Date.now() : undefined), {
          timeoutMs: 60_000,
          what: `a first token fetch (${wrong.output().slice(-800)})`,
        });
        // orders keep coming for the first minute; every callback finds no token
        while (Date.now() - firstAt < MINUTE) {
          const machine = fleet[notices.length % fleet.length];
          if (!machine) throw new Error('no machine');
          const notice = noticeFor(`WS${notices.length}`, machine, [[notices.length % 4, 1]]);
          await acceptOrder(store, producer, notice);
          notices.push(notice);
          await waitFor(async () => (await store.get(notice.orderViewId))?.result, {
            timeoutMs: 30_000,
            what: `order ${notice.orderViewId} final`,
          });
        }
        const firstMinute = fetches();
        expect(firstMinute).toBeGreaterThan(0);
        expect(firstMinute).toBeLessThanOrEqual(FIRST_MINUTE_MAX);
        expect(owitho.sim.tokenFetchCount()).toBe(0);
        // loud, and visible in readiness
        expect(loud).toBe(true);
        expect(leaked).toBe(false);
        const port = metricsPort;
        expect(port, 'the worker logged its metrics port').toBeDefined();
        const readyz = await fetch(`http://127.0.0.1:${port}/readyz`);
        expect(readyz.status).toBe(503);
        const body = (await readyz.json()) as { checks?: Record<string, string> };
        expect(body.checks?.credentials).toMatch(/40002/);
        const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        expect(metrics).toMatch(/owc_token_misconfigured 1/);
        for (const n of notices) expect((await store.get(n.orderViewId))?.state).toBe('final');

        // the operator fixes the secret and restarts
        await wrong.kill();
        const restartedAt = Date.now();
        fixed = spawnWorker(env);
        await waitFor(
          async () =>
            (await Promise.all(notices.map((n) => store.get(n.orderViewId)))).every(
              (r) => r?.state === 'reported',
            ),
          {
            timeoutMs: MINUTE,
            intervalMs: 200,
            what: `every order called back (${fixed.output().slice(-800)})`,
          },
        );
        const recoveredMs = Date.now() - restartedAt;
        expect(recoveredMs).toBeLessThanOrEqual(MINUTE);
        expect(owitho.sim.tokenFetchCount()).toBe(1);
        await expectExactlyOnce(machines, owitho, store, notices);
      } finally {
        await wrong.kill();
        await fixed?.kill();
        await sims.close();
      }
    },
    240_000,
  );
});
