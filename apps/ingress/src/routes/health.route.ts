import type { FastifyInstance } from 'fastify';
import type { IngressDeps } from '../ingress-deps.js';
import { withinTime } from '../time-limit.js';

const READY_CHECK_MS = 1000;

type Check = 'ok' | 'down' | 'none' | 'misconfigured';

/**
 * GET /healthz: the process is up (liveness: answers without touching Redis).
 * GET /readyz: Redis answers PING, a token is honoured, and owitho is not refusing our
 * credentials (a misconfiguration only an operator can fix) (readiness: 503 otherwise).
 */
export async function healthRoutes(app: FastifyInstance, deps: IngressDeps): Promise<void> {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const [redis, token] = await Promise.all([
      withinTime(deps.redis.ping(), READY_CHECK_MS, 'redis ping').then(
        (pong): Check => (pong === 'PONG' ? 'ok' : 'down'),
        (): Check => 'down',
      ),
      withinTime(
        Promise.all([deps.tokens.peekHonouredTokens(), deps.tokens.health?.()]),
        READY_CHECK_MS,
        'token read',
      ).then(
        ([tokens, health]): Check =>
          health?.misconfiguration ? 'misconfigured' : tokens.length > 0 ? 'ok' : 'none',
        (): Check => 'down',
      ),
    ]);
    const ready = redis === 'ok' && token === 'ok';
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', redis, token });
  });
}

/** GET /metrics: Prometheus text (the admin listener). */
export async function metricsRoute(app: FastifyInstance, deps: IngressDeps): Promise<void> {
  app.get('/metrics', async (_request, reply) => {
    const text = await deps.metrics.registry.metrics();
    return reply.header('content-type', deps.metrics.registry.contentType).send(text);
  });
}
