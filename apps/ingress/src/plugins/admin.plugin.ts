import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { ApiKeyStore, QUEUE_NAMES } from '@owc/queues';
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import type { IngressDeps } from '../ingress-deps.js';
import { adminJobsRoute } from '../routes/admin-jobs.route.js';
import { consoleRoutes } from '../routes/console.route.js';
import {
  type AdminArea,
  AdminAuth,
  LoginThrottle,
  type Principal,
  refusal,
  sendUnauthorized,
} from './admin-auth.js';

export { secretsEqual } from './admin-auth.js';

/** The operator's dashboard: may retry and promote jobs, nothing else changes a job. */
export const DASHBOARD_PATH = '/admin/queues';
/** The same dashboard, read-only: what the viewer account sees. */
export const VIEWER_DASHBOARD_PATH = '/admin/view/queues';

declare module 'fastify' {
  interface FastifyRequest {
    /** who called /admin (set by the admin plugin's auth hook before any handler runs) */
    principal?: Principal;
  }
}

/** The dashboard calls that change something and that the operator board allows: retry and promote. */
const OPERATOR_BOARD_WRITES = /\/api\/queues\/:queueName\/(?::jobId\/)?(?:retry|promote)(?:\/:queueStatus)?$/;

function areaOf(url: string): AdminArea {
  const path = url.split('?')[0] ?? '';
  if (path.startsWith('/admin/jobs')) return 'enqueue';
  if (path === DASHBOARD_PATH || path.startsWith(`${DASHBOARD_PATH}/`)) return 'operate';
  return 'view';
}

/** The answer shape of every /admin error: {error, message, field?}; Fastify's own errors too. */
function registerAdminErrors(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 500) {
      request.log.error({ err: error }, 'admin request failed');
      return reply.code(500).send({ error: 'internal', message: 'internal error' });
    }
    const kind =
      status === 415
        ? 'unsupported_media_type'
        : status === 413
          ? 'body_too_large'
          : error instanceof SyntaxError ||
              /^FST_ERR_CTP_(INVALID_JSON_BODY|EMPTY_JSON_BODY)$/.test(error.code ?? '')
            ? 'invalid_json'
            : 'bad_request';
    return reply.code(status).send({ error: kind, message: error.message });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: 'not_found', message: `no admin route ${request.method} ${request.url}` }),
  );
}

/**
 * Everything under /admin, in one encapsulated context whose onRequest hook identifies the
 * caller before anything runs: the operator (ADMIN_USER/ADMIN_PASSWORD, basic auth), the
 * optional read-only viewer (DASHBOARD_VIEWER_USER/…_PASSWORD), or a calling system by its API
 * key (`Authorization: Bearer`, only for POST /admin/jobs/{name}). Failed logins are counted
 * per address (429 past ADMIN_LOGIN_MAX_FAILURES). Register it with `{ prefix: '/admin' }`.
 */
export async function adminPlugin(app: FastifyInstance, deps: IngressDeps): Promise<void> {
  const { config } = deps;
  const keys = new ApiKeyStore(deps.redis, config.KEY_PREFIX);
  const auth = new AdminAuth(
    config,
    keys,
    new LoginThrottle(
      deps.redis,
      config.KEY_PREFIX,
      config.ADMIN_LOGIN_MAX_FAILURES,
      config.ADMIN_LOGIN_LOCKOUT_MS,
    ),
  );
  registerAdminErrors(app);
  app.decorateRequest('principal', undefined);
  app.addHook('onRequest', async (request, reply) => {
    const address = request.ip;
    let lockedMs: number;
    let principal: Principal | undefined;
    try {
      lockedMs = await auth.throttle.lockedFor(address);
      principal = lockedMs > 0 ? undefined : await auth.identify(request);
      if (lockedMs === 0 && !principal && request.headers.authorization) await auth.throttle.fail(address);
    } catch (error) {
      request.log.warn({ err: error }, 'admin auth: the credential store is unavailable');
      return reply
        .code(503)
        .send({ error: 'unavailable', message: 'the credential store is unavailable: retry' });
    }
    if (lockedMs > 0) {
      request.log.warn({ address }, 'admin request refused: too many failed logins');
      return reply
        .code(429)
        .header('retry-after', String(Math.ceil(lockedMs / 1000)))
        .send({ error: 'too_many_failed_logins', message: 'too many failed logins from this address: wait' });
    }
    if (!principal) {
      request.log.info({ url: request.url }, 'admin request refused: missing or wrong credentials');
      return sendUnauthorized(
        reply,
        'credentials required: basic auth, or an API key as Bearer for job routes',
      );
    }
    const area = areaOf(request.url);
    if (principal.kind === 'viewer' && area === 'operate' && request.method === 'GET') {
      // the viewer signs in at the same address and lands on the read-only board
      return reply.redirect(request.url.replace(DASHBOARD_PATH, VIEWER_DASHBOARD_PATH), 303);
    }
    const refused = refusal(principal, area);
    if (refused) {
      request.log.info(
        { principal: principal.name, kind: principal.kind, url: request.url },
        'admin request refused',
      );
      return reply.code(403).send({ error: 'forbidden', message: refused });
    }
    request.principal = principal;
  });

  await app.register(
    async (board) => {
      // nobody edits job data, adds, removes or cleans jobs from the dashboard: only retry and promote
      board.addHook('onRequest', async (request: FastifyRequest, reply) => {
        if (request.method === 'GET' || request.method === 'HEAD') return;
        if (OPERATOR_BOARD_WRITES.test(request.routeOptions.url ?? '')) return;
        return reply
          .code(403)
          .send({ error: 'forbidden', message: 'the dashboard may only retry and promote jobs' });
      });
      await mountBoard(board, deps, DASHBOARD_PATH, config.DASHBOARD_READ_ONLY);
    },
    { prefix: '/queues' },
  );
  await app.register(async (board) => mountBoard(board, deps, VIEWER_DASHBOARD_PATH, true), {
    prefix: '/view/queues',
  });
  await app.register(async (jobs) => adminJobsRoute(jobs, deps));
  await app.register(async (orders) => consoleRoutes(orders, deps));
}

async function mountBoard(
  app: FastifyInstance,
  deps: IngressDeps,
  basePath: string,
  readOnlyMode: boolean,
): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(basePath);
  createBullBoard({
    queues: QUEUE_NAMES.map(
      (name) =>
        new BullMQAdapter(deps.producer.queue(name), {
          readOnlyMode,
          allowRetries: !readOnlyMode,
        }),
    ),
    serverAdapter,
    options: { uiConfig: { boardTitle: readOnlyMode ? 'owitho-connector (read-only)' : 'owitho-connector' } },
  });
  await app.register(serverAdapter.registerPlugin());
}
