import { randomUUID } from 'node:crypto';
import { FastifyOtelInstrumentation } from '@fastify/otel';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { IngressDeps } from './ingress-deps.js';
import { docsRoutes, registerAdminOpenapi, registerOpenapi } from './openapi.js';
import { adminPlugin } from './plugins/admin.plugin.js';
import { healthRoutes, metricsRoute } from './routes/health.route.js';
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
 * What both listeners share: zod validation, JSON only, request ids, `Connection: close` once
 * shutdown starts, and the request counter.
 */
function commonHooks(app: FastifyInstance, deps: IngressDeps): void {
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
  // callback hooks, not async ones: no promise per request for work that never waits
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id);
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });
  // the counter of each (route, status, code) looked up once, not its labels hashed per request
  const counters = new Map<string, { inc(): void }>();
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const key = `${route} ${reply.statusCode} ${request.protocolCode}`;
    let counter = counters.get(key);
    if (!counter) {
      counter = deps.metrics.requests.labels({
        route,
        status: String(reply.statusCode),
        code: request.protocolCode ? String(request.protocolCode) : '',
      });
      counters.set(key, counter);
    }
    counter.inc();
    done();
  });
}

/**
 * The public listener (INGRESS_PORT), the one owitho reaches from the internet: owitho's three
 * calls, `/healthz` and `/readyz`, nothing else (an admin path here is a plain 404). The OpenAPI
 * plugin is registered here, before the routes, so it documents them; the admin listener serves
 * the document. Testable with `app.inject` or a real listen.
 */
export async function publicApp(app: FastifyInstance, deps: IngressDeps): Promise<void> {
  commonHooks(app, deps);
  // one line per request, at debug (Fastify's two, 'incoming request' and 'request completed',
  // are off on this listener): at info a notice writes only its own line ('order accepted'),
  // which at owitho's rates is a third of the logging work per notice
  app.addHook('onResponse', (request, reply, done) => {
    if (deps.logger.isLevelEnabled('debug')) {
      request.log.debug(
        {
          method: request.method,
          url: request.url,
          statusCode: reply.statusCode,
          code: request.protocolCode || undefined,
          responseTime: reply.elapsedTime,
        },
        'request completed',
      );
    }
    done();
  });
  await registerOpenapi(app);
  await app.register(async (owitho) => {
    registerOwithoErrorHandler(owitho, deps);
    await orderNoticeRoute(owitho, deps);
    await orderQueryRoute(owitho, deps);
    await machineQueryRoute(owitho, deps);
  });
  await app.register(async (health) => healthRoutes(health, deps));
}

/**
 * The admin listener (ADMIN_PORT), for operators and Prometheus only: `/admin/*` (basic auth:
 * dashboard, job enqueue), `/metrics`, and under `/docs` two OpenAPI documents — the job routes
 * (this listener's own, its plugin registered before the routes so it sees them) and the public
 * listener's routes — with a docs UI. Also answers `/healthz`, so the listener itself can be probed.
 */
export async function adminApp(
  app: FastifyInstance,
  deps: IngressDeps,
  documented: FastifyInstance,
): Promise<void> {
  commonHooks(app, deps);
  await registerAdminOpenapi(app);
  await app.register(async (admin) => adminPlugin(admin, deps), { prefix: '/admin' });
  await app.register(async (docs) => docsRoutes(docs, documented));
  await app.register(async (metrics) => metricsRoute(metrics, deps));
  app.get('/healthz', async () => ({ status: 'ok' }));
}

function newFastify(deps: IngressDeps, requestLogging = true): FastifyInstance {
  return Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: !requestLogging }),
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
}

export interface IngressApps {
  /** INGRESS_PORT: owitho's calls and the probes */
  public: FastifyInstance;
  /** ADMIN_PORT: dashboard, /admin/*, /metrics, OpenAPI */
  admin: FastifyInstance;
}

/** The two Fastify instances of the ingress, built from the same deps, not yet listening. */
export async function buildIngress(deps: IngressDeps): Promise<IngressApps> {
  // on the root instances, so the OpenAPI plugin decorates `pub` itself (`pub.swagger()`)
  const pub = newFastify(deps, false);
  if (deps.tracing) {
    // one span per owitho request, the parent of the enqueue and so of the order's whole trace
    // no span per lifecycle hook (onSend, onResponse: one each per request, nothing to learn);
    // the handler's span named by its route, not by the source text of an anonymous plugin
    const otel = new FastifyOtelInstrumentation({
      registerOnInitialization: false,
      instrumentHooks: false,
      lifecycleHook: (span, { hookName, request }) =>
        span.updateName(`${hookName} ${request.method} ${request.routeOptions.url ?? ''}`.trimEnd()),
    });
    await pub.register(otel.plugin());
  }
  await publicApp(pub, deps);
  const admin = newFastify(deps);
  await adminApp(admin, deps, pub);
  return { public: pub, admin };
}
