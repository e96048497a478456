import { createHash, timingSafeEqual } from 'node:crypto';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import fastifyBasicAuth from '@fastify/basic-auth';
import { QUEUE_NAMES } from '@owc/queues';
import type { FastifyInstance } from 'fastify';
import type { IngressDeps } from '../ingress-deps.js';
import { adminJobsRoute } from '../routes/admin-jobs.route.js';

export const DASHBOARD_PATH = '/admin/queues';

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Constant-time equality of two secrets of any length (compares their digests). */
export function secretsEqual(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * Everything under /admin, in one encapsulated context whose onRequest hook demands HTTP basic
 * auth (ADMIN_USER / ADMIN_PASSWORD): the bull-board page, its API, its static assets, and the
 * job enqueue endpoint. Register it with `{ prefix: '/admin' }`.
 */
export async function adminPlugin(app: FastifyInstance, deps: IngressDeps): Promise<void> {
  const { ADMIN_USER, ADMIN_PASSWORD, DASHBOARD_READ_ONLY } = deps.config;
  await app.register(fastifyBasicAuth, {
    authenticate: { realm: 'owc-admin' },
    validate: async (username, password) => {
      // both compared every time, so the time taken says nothing about which one was wrong
      const userOk = secretsEqual(username, ADMIN_USER);
      const passwordOk = secretsEqual(password, ADMIN_PASSWORD);
      if (!(userOk && passwordOk)) throw new Error('unauthorized');
    },
  });
  app.addHook('onRequest', (request, reply, done) => {
    app.basicAuth(request, reply, (error?: Error) => {
      if (!error) return done();
      request.log.info({ url: request.url }, 'admin request refused: missing or wrong credentials');
      reply.code(401).send({ error: 'unauthorized', message: 'basic authentication required' });
    });
  });

  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(DASHBOARD_PATH);
  createBullBoard({
    queues: QUEUE_NAMES.map(
      (name) => new BullMQAdapter(deps.producer.queue(name), { readOnlyMode: DASHBOARD_READ_ONLY }),
    ),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'owitho-connector' } },
  });
  await app.register(serverAdapter.registerPlugin(), { prefix: '/queues' });
  await app.register(async (jobs) => adminJobsRoute(jobs, deps));
}
