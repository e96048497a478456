import { Registry } from '@owc/observability';
import { redisTest, silentLogger, startRedisServer, uniquePrefix } from '@owc/testing';
import { TokenKeeper, tokenMetrics } from '@owc/token';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { loadWorkerConfig } from './config.js';
import { Readiness } from './readiness.js';
import { type RunningWorker, runWorker } from './run-worker.js';

const silent = silentLogger('readiness-test');

function workerConfig(redisUrl: string, prefix: string, roles: string) {
  return loadWorkerConfig({
    REDIS_URL: redisUrl,
    KEY_PREFIX: prefix,
    WORKER_ROLES: roles,
    WORKER_METRICS_PORT: '0',
    // nothing answers there: these tests are about the worker's own state
    OWITHO_BASE_URL: 'http://127.0.0.1:9',
    OWITHO_APP_ID: 'app-ready',
    OWITHO_SECRET_KEY: 'secret-ready',
    MACHINE_GATEWAY_URL: 'http://127.0.0.1:9',
    SHUTDOWN_TIMEOUT_MS: '5000',
    LOG_LEVEL: 'silent',
  });
}

interface Probe {
  status: number;
  body: { status?: string; checks?: Record<string, string> };
}

async function probe(worker: RunningWorker, path: '/readyz' | '/healthz'): Promise<Probe> {
  const response = await fetch(`http://127.0.0.1:${worker.metricsPort}${path}`, {
    signal: AbortSignal.timeout(5000),
  });
  return { status: response.status, body: (await response.json()) as Probe['body'] };
}

/** Polls /readyz until it answers `status` (and `also` holds); returns that answer. */
async function readyzUntil(
  worker: RunningWorker,
  status: number,
  timeoutMs: number,
  also: (answer: Probe) => boolean = () => true,
) {
  const started = Date.now();
  let last: Probe | undefined;
  while (Date.now() - started < timeoutMs) {
    last = await probe(worker, '/readyz');
    if (last.status === status && also(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`/readyz did not answer ${status} within ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
}

describe('worker readiness (GET /readyz) and liveness (GET /healthz)', () => {
  it('Redis killed under a running worker: not ready within seconds, ready again once Redis is back; alive throughout', async () => {
    // a private redis-server: this test stops it (never the shared one)
    const first = await startRedisServer();
    let current = first;
    const worker = await runWorker(workerConfig(first.url, uniquePrefix(), 'dispense,callback,sync'), silent);
    try {
      const ready = await readyzUntil(worker, 200, 15_000);
      expect(ready.body.checks).toEqual({
        redis: 'ok',
        credentials: 'ok',
        roles: 'ok',
        'dispense.worker': 'ok',
        'callback.worker': 'ok',
        'sync.sku-worker': 'ok',
        'sync.machine-worker': 'ok',
      });

      await first.stop();
      const down = await readyzUntil(worker, 503, 5000);
      expect(down.body.status).toBe('unavailable');
      expect(down.body.checks?.redis).not.toBe('ok');
      expect((await probe(worker, '/healthz')).status).toBe(200);

      current = await startRedisServer([], first.port);
      const back = await readyzUntil(worker, 200, 30_000);
      expect(back.body.checks?.redis).toBe('ok');
      expect(back.body.checks?.['dispense.worker']).toBe('ok');
    } finally {
      await worker.close();
      await current.stop();
    }
  }, 90_000);

  redisTest('the token role is not ready while no usable token exists', async ({ redisUrl, prefix }) => {
    const worker = await runWorker(workerConfig(redisUrl, prefix, 'token'), silent);
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    try {
      // once connected, what keeps it unready is the token alone
      const none = await readyzUntil(worker, 503, 10_000, (a) => a.body.checks?.redis === 'ok');
      expect(none.body.checks).toMatchObject({
        redis: 'ok',
        roles: 'ok',
        'token.token': 'no access token yet',
      });
      // a token appears the way production writes one (a keeper fetched it)
      const keeper = new TokenKeeper({
        redis,
        keyPrefix: prefix,
        fetchToken: async () => ({
          accessToken: 'token-ready-0123456789',
          expireTime: Date.now() + 3_600_000,
        }),
        overlapMs: 60_000,
        refreshMarginMs: 1000,
        dailyQuota: 100,
        quotaWarnShare: 0.8,
        cacheMs: 0,
        metrics: tokenMetrics(new Registry()),
      });
      // forced: the worker's own keeper has no owitho to reach, so its failed fetches cool down
      await keeper.refreshNow();
      const ready = await readyzUntil(worker, 200, 10_000);
      expect(ready.body.checks?.['token.token']).toBe('ok');
    } finally {
      await worker.close();
      redis.disconnect();
    }
  });

  it('a check that throws or hangs is a failed check with its reason; all ok is ready', async () => {
    const readiness = new Readiness(50);
    readiness.add('fine', async () => undefined);
    expect(await readiness.report()).toEqual({ ready: true, checks: { fine: 'ok' } });
    readiness.add('broken', async () => {
      throw new Error('boom');
    });
    readiness.add('stuck', () => new Promise<undefined>(() => {}));
    readiness.add('says-why', async () => 'not yet');
    expect(await readiness.report()).toEqual({
      ready: false,
      checks: { fine: 'ok', broken: 'boom', stuck: 'no answer within 50 ms', 'says-why': 'not yet' },
    });
    const stopping = new Readiness(50);
    stopping.add('fine', async () => undefined);
    stopping.stop();
    expect(await stopping.report()).toEqual({ ready: false, checks: { fine: 'ok', process: 'stopping' } });
  });
});
