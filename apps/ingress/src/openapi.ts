import fastifySwagger from '@fastify/swagger';
import {
  machineLayoutOutSchema,
  machineQuerySchema,
  orderNoticeSchema,
  orderQuerySchema,
  orderResultSchema,
} from '@owc/protocol';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { OWITHO_PATHS } from './routes/owitho-route.js';

const owithoPaths = new Set<string>(OWITHO_PATHS);

/** The payloads that travel inside `data`, as OpenAPI components (generated from the protocol's zod schemas). */
function payloadComponents(): Record<string, unknown> {
  const schemas = {
    OrderNotice: orderNoticeSchema,
    OrderQuery: orderQuerySchema,
    OrderResult: orderResultSchema,
    MachineQuery: machineQuerySchema,
    MachineLayout: machineLayoutOutSchema,
  };
  return Object.fromEntries(
    Object.entries(schemas).map(([name, schema]) => [
      name,
      // requests are read tolerantly (money as a string or a number): document what may be sent
      z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input' }),
    ]),
  );
}

/**
 * @fastify/swagger over the three routes owitho calls (every other route is hidden), their
 * envelope and answers generated from the same zod schemas. Called on the public listener's root
 * instance before the routes are registered, so it sees them; the admin listener serves the
 * document (openapiDocumentRoute).
 */
export async function registerOpenapi(app: FastifyInstance): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'owitho-connector ingress',
        description:
          'The calls owitho makes into us (docs/protocol.md calls 3, 4, 6). Every body is the signed envelope; ' +
          '`data` carries the payload as compact JSON (see components.schemas). Protocol errors are HTTP 200 ' +
          'with code 40000-40004; HTTP 503 with code 40000 means retry.',
        version: '1.0.0',
      },
      components: { schemas: payloadComponents() as never },
    },
    transform: (document) =>
      owithoPaths.has(document.url)
        ? jsonSchemaTransform(document)
        : { schema: { ...document.schema, hide: true }, url: document.url },
  });
}

/** GET /openapi.json (register with `{ prefix: '/docs' }`): the document of `documented`'s routes. */
export async function openapiDocumentRoute(app: FastifyInstance, documented: FastifyInstance): Promise<void> {
  app.get('/openapi.json', async () => documented.swagger());
}
