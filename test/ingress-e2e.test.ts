import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { APP_ID, startTestIngress } from '@owc/ingress/test-kit';
import { startOwithoSim } from '@owc/owitho-sim';
import { readAnswer } from '@owc/protocol';
import { redisTest, silentLogger, waitFor } from '@owc/testing';
import type { Redis } from 'ioredis';
import { describe, expect } from 'vitest';
import { startTokenRole } from './system-support.js';

const SECRET = 'sim-secret-key-0001';
const ORDERS = 500;

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Sits between owitho and the ingress and loses the answer to the first push of every 7th order
 * after the ingress has accepted it: owitho sees a broken connection and re-pushes, exactly the
 * "record + job written → 200 lost" crash point. Records every answer the ingress gave.
 */
async function startLossyProxy(target: string) {
  const answers: { status: number; code?: number }[] = [];
  const seen = new Set<string>();
  let dropped = 0;
  let inFlight = 0;
  let distinct = 0;
  const server = createServer((req, res) => {
    inFlight++;
    void (async () => {
      try {
        const body = await readBody(req);
        const upstream = await fetch(`${target}${req.url}`, {
          method: req.method,
          headers: { 'content-type': req.headers['content-type'] ?? 'application/json' },
          body: req.method === 'POST' ? body : undefined,
        });
        const text = await upstream.text();
        if (req.url === '/order/notice') {
          answers.push({ status: upstream.status, code: readAnswer(text)?.code });
          const orderViewId = (JSON.parse(JSON.parse(body.toString()).data) as { orderViewId: string })
            .orderViewId;
          if (!seen.has(orderViewId)) {
            seen.add(orderViewId);
            distinct++;
            if (distinct % 7 === 0) {
              dropped++;
              req.socket.destroy();
              return;
            }
          }
        }
        res.writeHead(upstream.status, {
          'content-type': upstream.headers.get('content-type') ?? 'application/json',
        });
        res.end(text);
      } finally {
        inFlight--;
      }
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    answers,
    get dropped() {
      return dropped;
    },
    get inFlight() {
      return inFlight;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function scanCount(redis: Redis, pattern: string): Promise<number> {
  let cursor = '0';
  let count = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    count += keys.length;
  } while (cursor !== '0');
  return count;
}

describe('ingress end to end with the owitho simulator', () => {
  redisTest(
    `${ORDERS} orders pushed with duplicates and re-pushes: ${ORDERS} records, ${ORDERS} dispense jobs, every notice 200`,
    async ({ redisUrl, prefix, redis }) => {
      const ingress = await startTestIngress(redisUrl, prefix, { seed: false });
      const proxy = await startLossyProxy(ingress.url);
      const owitho = await startOwithoSim({
        appId: APP_ID,
        secretKey: SECRET,
        thirdUrl: proxy.url,
        noticeRetryMs: 200,
        duplicateRate: 0.3,
        queryAfterMs: 3_600_000,
        logger: silentLogger('owitho-sim'),
      });
      // the worker's token role: the one place that fetches, writing the token for every pod
      const tokenRole = await startTokenRole(redisUrl, prefix, owitho, { appId: APP_ID, secretKey: SECRET });
      try {
        await tokenRole.keeper.currentToken();
        const ids = owitho.sim.pushGenerated(ORDERS);
        expect(new Set(ids).size).toBe(ORDERS);

        const settled = () => {
          const orders = owitho.sim.orders();
          const pushes = orders.reduce((n, o) => n + o.pushes, 0);
          const duplicates = orders.reduce((n, o) => n + o.duplicatesPushed, 0);
          return (
            orders.length === ORDERS &&
            orders.every((o) => o.ackedAt !== undefined) &&
            pushes === ORDERS + proxy.dropped + duplicates &&
            proxy.answers.length === pushes &&
            proxy.inFlight === 0
          );
        };
        await waitFor(settled, { timeoutMs: 60_000, intervalMs: 50 });

        const orders = owitho.sim.orders();
        const duplicates = orders.reduce((n, o) => n + o.duplicatesPushed, 0);
        expect(duplicates).toBeGreaterThan(0);
        expect(proxy.dropped).toBe(Math.floor(ORDERS / 7));
        expect(proxy.answers.length).toBe(ORDERS + proxy.dropped + duplicates);
        expect(proxy.answers.filter((a) => a.status !== 200 || a.code !== 200)).toEqual([]);

        expect(await scanCount(redis, `${prefix}:{order:*}:record`)).toBe(ORDERS);
        const queue = ingress.deps.producer.queue('dispense');
        expect(await queue.count()).toBe(ORDERS);
        const jobs = await queue.getJobs(
          ['waiting', 'delayed', 'active', 'completed', 'failed'],
          0,
          ORDERS * 2,
        );
        expect(new Set(jobs.map((j) => j.data.orderViewId as string))).toEqual(new Set(ids));
        const stats = await ingress.deps.store.stats();
        expect(stats.accepted).toBe(ORDERS);
        expect(stats.duplicates).toBe(proxy.dropped + duplicates);
        expect(stats.conflicts).toBe(0);
        for (const order of orders.slice(0, 25)) {
          expect((await ingress.deps.store.get(order.orderViewId))?.notice).toEqual(order.notice);
        }
      } finally {
        await owitho.close();
        await proxy.close();
        await ingress.close();
        await tokenRole.close();
      }
    },
  );
});
