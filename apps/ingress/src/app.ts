import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { IngressDeps } from './ingress-deps.js';
import { registerOpenapi } from './openapi.js';
import { adminPlugin } from './plugins/admin.plugin.js';
import { healthRoutes } from './routes/health.route.js';
import { machineQueryRoute } from './routes/machine-query.route.js';
import { orderNoticeRoute } from './routes/order-notice.route.js';
import { orderQueryRoute } from './routes/order-query.route.js';
import { registerOwithoErrorHandler } from './routes/owitho-route.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** the `code` of the protocol answer sent, for the request metrics (0 when none) */
    protocolCode: number;
  }
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * The ingress as a Fastify plugin, built only from what it is given: external plugins first
 * (OpenAPI), then our own (admin: basic auth + bull-board + job enqueue), then the routes.
 * Testable with `app.inject` or a real listen.
 */
export async function ingressApp(app: FastifyInstance, deps: IngressDeps): Promise<void> {
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // JSON only: anything else is 415 (Fastify's answer to a content type without a parser)
  app.removeContentTypeParser('text/plain');
  app.decorateRequest('protocolCode', 0);

  // once shutdown starts, every answer closes its keep-alive connection, so close() is not held
  // open by idle sockets of requests that were in flight when it began
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (closing) reply.header('connection', 'close');
  });
  app.addHook('onResponse', async (request, reply) => {
    deps.metrics.requests.inc({
      route: request.routeOptions.url ?? 'unmatched',
      status: String(reply.statusCode),
      code: request.protocolCode ? String(request.protocolCode) : '',
    });
  });

  await registerOpenapi(app);
  await app.register(async (admin) => adminPlugin(admin, deps), { prefix: '/admin' });

  await app.register(async (owitho) => {
    registerOwithoErrorHandler(owitho, deps);
    await orderNoticeRoute(owitho, deps);
    await orderQueryRoute(owitho, deps);
    await machineQueryRoute(owitho, deps);
  });
  await app.register(async (health) => healthRoutes(health, deps));
}

/** A Fastify instance with the ingress registered: body limit, request ids, the given pino logger. */
export async function buildIngress(deps: IngressDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: deps.config.BODY_LIMIT_BYTES,
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    // keep-alive sockets must not hold a shutdown open
    forceCloseConnections: 'idle',
    return503OnClosing: true,
  });
  await app.register(async (root) => ingressApp(root, deps));
  return app;
}
