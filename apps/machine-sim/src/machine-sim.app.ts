import type { Logger } from '@owc/observability';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { MachineSim } from './machine-sim.js';
import { controlRoutes } from './routes/control.routes.js';
import { gatewayRoutes } from './routes/gateway.routes.js';

/** The simulator's HTTP face: docs/gateway.md's routes plus the control API. Not listening yet. */
export async function buildMachineSimApp(sim: MachineSim, logger: Logger): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    // a vendId is up to 160 characters, a machineCode 128 (the default limit, 100, would 404 them)
    routerOptions: { maxParamLength: 512 },
    // held answers (lose-answer fault) are released by sim.close(); then keep-alive sockets close
    forceCloseConnections: true,
  });

  app.setErrorHandler((error, request, reply) => {
    const statusCode =
      typeof (error as { statusCode?: unknown }).statusCode === 'number'
        ? (error as { statusCode: number }).statusCode
        : 500;
    if (statusCode >= 400 && statusCode < 500) {
      // unparseable JSON, a wrong content type, a body too large: the body as a whole is bad
      return reply.code(statusCode).send({
        error: 'invalid_request',
        field: '(body)',
        message: error instanceof Error ? error.message : String(error),
      });
    }
    request.log.error({ err: error, url: request.url }, 'request failed');
    return reply.code(500).send({ error: 'internal' });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: 'not_found', message: `no route ${request.method} ${request.url}` }),
  );

  await app.register(gatewayRoutes, { sim });
  await app.register(controlRoutes, { sim });
  return app;
}
