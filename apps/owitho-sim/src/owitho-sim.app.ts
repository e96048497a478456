import type { Logger } from '@owc/observability';
import { errorAnswer, ResultCode } from '@owc/protocol';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { OwithoSim } from './owitho-sim.js';
import { controlRoutes } from './routes/control.routes.js';
import { platformRoutes } from './routes/platform.routes.js';
import { tokenRoute } from './routes/token.route.js';

export interface OwithoSimAppOptions {
  appId: string;
  secretKey: string;
  thirdUrl?: string | undefined;
}

function pathOf(url: string): string {
  return url.split('?')[0] ?? '';
}

/**
 * The simulator's HTTP face: owitho's platform calls (token, sku/sync, machine/sync,
 * order/callback) with fault injection, plus the control API. Not listening yet.
 */
export async function buildOwithoSimApp(
  sim: OwithoSim,
  options: OwithoSimAppOptions,
  logger: Logger,
): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // request logs would carry getAccessToken's query string (a signature): we log our own events
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 5 * 1024 * 1024,
  });
  const held = sim.held;

  // Request faults apply to the platform endpoints, never to the control API.
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const path = pathOf(request.url);
    if (path.startsWith('/_sim')) return;
    const f = sim.currentFaults();
    if (f.path && f.path !== path) return;
    if (f.latencyMs) await held.sleep(f.latencyMs);
    if (f.hang) {
      await held.hold();
      sim.count(path, 'hang');
      return reply
        .code(503)
        .send(errorAnswer(ResultCode.REQUEST_FAILED, 'service unavailable (released hang)'));
    }
    if (f.status503) {
      sim.count(path, 'http503');
      return reply.code(503).send(errorAnswer(ResultCode.REQUEST_FAILED, 'service unavailable (injected)'));
    }
    if (f.errorRate && Math.random() < f.errorRate) {
      sim.count(path, 'http500');
      return reply.code(500).send(errorAnswer(ResultCode.REQUEST_FAILED, 'internal error (injected)'));
    }
  });

  await app.register(tokenRoute, { sim, appId: options.appId, secretKey: options.secretKey, logger });
  await app.register(platformRoutes, { sim, appId: options.appId });
  await app.register(controlRoutes, { sim, thirdUrl: options.thirdUrl });

  app.setNotFoundHandler((request, reply) => {
    const path = pathOf(request.url);
    if (!path.startsWith('/_sim')) sim.count(path, 404);
    return reply.code(404).send(errorAnswer(ResultCode.REQUEST_FAILED, `no route ${request.method} ${path}`));
  });

  app.setErrorHandler((error, request, reply) => {
    // a body that is not JSON, too large, of another content type: a clear answer, never a crash
    const status = (error as { statusCode?: number }).statusCode ?? 500;
    const path = pathOf(request.url);
    const code = status >= 400 && status < 500 ? status : 500;
    if (code === 500) logger.error({ err: error, path }, 'request failed');
    else logger.debug({ path, status: code, reason: (error as Error).message }, 'request refused');
    if (!path.startsWith('/_sim')) sim.count(path, `http${code}`);
    return reply
      .code(code)
      .send(errorAnswer(ResultCode.REQUEST_FAILED, `request failed: ${(error as Error).message}`));
  });

  return app;
}
