import { loadIngressConfig, startIngress } from '@owc/ingress';
import { startMachineSim } from '@owc/machine-sim';
import { createLogger } from '@owc/observability';
import { OrderTimeline } from '@owc/order-store';
import { startOwithoSim } from '@owc/owitho-sim';
import { signEnvelope } from '@owc/protocol';
import { canStartRedisCluster, freePort, startRedisCluster, waitFor } from '@owc/testing';
import { loadWorkerConfig, runWorker } from '@owc/worker';
import { Cluster } from 'ioredis';
import { describe, expect, it } from 'vitest';

const APP = { appId: 'app-cluster', secretKey: 'secret-cluster' };
const FLEET = { machines: 3, slotsPerMachine: 6, inventory: 1000 };
const ORDERS = 60;

describe('Redis Cluster', () => {
  it('runs the order path end to end on a 3-master cluster', async (ctx) => {
    if (!canStartRedisCluster())
      ctx.skip('redis-server/redis-cli are not installed: no local Redis Cluster to run on');
    const cluster = await startRedisCluster(3);
    const machines = await startMachineSim({ fleet: FLEET, vendDurationMs: 5 });
    const ingressPort = await freePort();
    const owitho = await startOwithoSim({
      ...APP,
      thirdUrl: `http://127.0.0.1:${ingressPort}`,
      noticeRetryMs: 200,
      duplicateRate: 0.2,
      seed: { machines: FLEET.machines, slotsPerMachine: FLEET.slotsPerMachine },
    });
    const logger = createLogger({ level: 'warn', name: 'cluster-test' });
    const env = {
      REDIS_URL: 'redis://unused:6379',
      REDIS_CLUSTER_NODES: cluster.nodes.join(','),
      KEY_PREFIX: 'owc',
      OWITHO_APP_ID: APP.appId,
      OWITHO_SECRET_KEY: APP.secretKey,
      OWITHO_BASE_URL: owitho.url,
      MACHINE_GATEWAY_URL: machines.url,
      ADMIN_USER: 'admin',
      ADMIN_PASSWORD: 'admin',
      INGRESS_HOST: '127.0.0.1',
      INGRESS_PORT: String(ingressPort),
      ADMIN_HOST: '127.0.0.1',
      ADMIN_PORT: '0',
      WORKER_METRICS_PORT: '-1',
      CALLBACK_SCHEDULE_MS: '200,400,800',
      VEND_RESOLVE_BACKOFF_MS: '50,100',
      MACHINE_LEASE_WAIT_MS: '20',
    };
    const worker = await runWorker(
      loadWorkerConfig({ ...env, WORKER_ROLES: 'token,dispense,callback' }),
      logger,
    );
    const ingress = await startIngress(loadIngressConfig(env), logger);
    const probe = new Cluster(
      cluster.nodes.map((n) => ({ host: '127.0.0.1', port: Number(n.split(':')[1]) })),
    );
    try {
      const ids = owitho.sim.pushGenerated(ORDERS);
      await waitFor(() => ids.every((id) => (owitho.sim.order(id)?.callbacks.length ?? 0) > 0), {
        timeoutMs: 90_000,
        what: 'every callback on the cluster',
      });
      for (const id of ids) {
        const order = owitho.sim.order(id);
        expect(order?.callbacks).toHaveLength(1);
        expect(order?.outStatus).toBe(200);
      }
      const ledger = (await (await fetch(`${machines.url}/ledger`)).json()) as { vendId: string }[];
      expect(new Set(ledger.map((e) => e.vendId)).size).toBe(ledger.length);
      // the data really is spread over the masters: queues, orders and tokens each under their own hash tag
      const perNode = await Promise.all(probe.nodes('master').map((node) => node.dbsize()));
      expect(perNode.filter((n) => n > 0).length).toBeGreaterThan(1);
      // order/query reads the same store, so it says what the callback said
      const first = ids[0] as string;
      const res = await fetch(`${ingress.url}/order/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(signEnvelope({ orderViewId: first }, APP, owitho.sim.liveTokens())),
      });
      const answer = (await res.json()) as { code: number; data: unknown };
      expect(answer.code).toBe(200);
      expect(answer.data).toEqual(owitho.sim.order(first)?.callbacks[0]?.payload);
      // the console's search (its logs share one hash tag: read in one pipeline) finds every order,
      // and a reported order's timeline is read from its packed record
      const timeline = new OrderTimeline({ redis: probe, keyPrefix: 'owc', ttlMs: 3600_000, maxEvents: 100 });
      const found = await timeline.search({ limit: ORDERS * 2 });
      expect(new Set(found.map((f) => f.orderViewId))).toEqual(new Set(ids));
      expect((await timeline.read(first)).map((e) => e.e)).toEqual(
        expect.arrayContaining(['accepted', 'vend', 'final', 'callback']),
      );
    } finally {
      probe.disconnect();
      await ingress.close();
      await worker.close();
      await owitho.close();
      await machines.close();
      await cluster.stop();
    }
  }, 180_000);
});
