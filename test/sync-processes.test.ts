import { startMachineSim } from '@owc/machine-sim';
import { startOwithoSim } from '@owc/owitho-sim';
import { createProducer } from '@owc/queues';
import { redisTest, silentLogger, skuOf, waitFor } from '@owc/testing';
import { describe, expect } from 'vitest';
import { spawnWorker, type WorkerProcess } from './order-path-support.js';
import { requestsTo, SYNC_APP, SYNC_WORKER_SETTINGS } from './sync-support.js';
import { simWorkerEnv } from './system-support.js';

const SKUS = 500;

describe('sync worker processes', () => {
  redisTest(
    'a sync worker SIGKILLed while a sku/sync batch is in flight, restarted: the catalogue ends complete and correct',
    async ({ redis, redisUrl, prefix }) => {
      const owitho = await startOwithoSim({
        ...SYNC_APP,
        logger: silentLogger('owitho-sim'),
      });
      const machines = await startMachineSim();
      const producer = createProducer(redis, { keyPrefix: prefix });
      const env = simWorkerEnv(
        redisUrl,
        prefix,
        SYNC_APP,
        { owitho, machines },
        {
          ...SYNC_WORKER_SETTINGS,
          SKU_BATCH_SIZE: '100',
          SKU_BATCH_MAX_WAIT_MS: '200',
          // how soon the restarted pod takes back the dead pod's batch (longer than one owitho call)
          SKU_BATCH_LEASE_MS: '2000',
          OWITHO_CONNECT_TIMEOUT_MS: '300',
          OWITHO_HEADERS_TIMEOUT_MS: '600',
          OWITHO_BODY_TIMEOUT_MS: '600',
        },
      );
      const workers: WorkerProcess[] = [];
      const last = new Map<string, number>();
      let rev = 0;
      const write = async (i: number) => {
        const r = ++rev;
        await producer.enqueue('sku.upsert', { sku: skuOf(i, r) });
        last.set(skuOf(i).skuCode, r);
      };
      try {
        // owitho takes the sku/sync requests and never answers them
        owitho.sim.setFaults({ hang: true, path: '/sku/sync' });
        const first = spawnWorker(env);
        workers.push(first);
        for (let i = 0; i < SKUS; i++) await write(i);
        const leases = `${prefix}:{sku-sync}:buffer:leases`;
        await waitFor(async () => owitho.sim.state().heldRequests >= 1 && (await redis.zcard(leases)) >= 1, {
          timeoutMs: 30_000,
          what: `a batch in flight (${first.output().slice(-500)})`,
        });
        await first.kill('SIGKILL');
        // the dead pod's request is let go unanswered (it is never recorded)
        await fetch(`${owitho.url}/_sim/faults`, { method: 'DELETE' });
        expect(owitho.sim.catalogue()).toHaveLength(0);
        // changes keep coming while no worker runs: some supersede SKUs of the lost batch
        for (let i = 0; i < SKUS; i += 3) await write(i);
        workers.push(spawnWorker(env));
        await waitFor(
          () => {
            const cat = owitho.sim.catalogue();
            return cat.length === SKUS && cat.every((s) => s.skuName.endsWith(` rev ${last.get(s.skuCode)}`));
          },
          {
            timeoutMs: 60_000,
            what: `the catalogue to be complete and current (${workers[1]?.output().slice(-500)})`,
          },
        );
        for (let i = 0; i < SKUS; i++) {
          const code = skuOf(i).skuCode;
          expect(owitho.sim.catalogue().find((s) => s.skuCode === code)).toEqual(skuOf(i, last.get(code)));
        }
        expect(requestsTo(owitho, '/sku/sync')).toBeGreaterThanOrEqual(Math.ceil(SKUS / 100));
        expect(await redis.zcard(leases)).toBe(0);
      } finally {
        await Promise.all(workers.map((w) => w.kill('SIGKILL')));
        await producer.close();
        await owitho.close();
        await machines.close();
      }
    },
    120_000,
  );
});
