import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import {
  machineLayoutOutSchema,
  machineQuerySchema,
  orderNoticeSchema,
  orderQuerySchema,
  orderResultSchema,
} from '@owc/protocol';
import { jobCatalog, jobPayloadJsonSchema, PUBLIC_JOB_NAMES, type PublicJobName } from '@owc/queues';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { OWITHO_PATHS } from './routes/owitho-route.js';

const owithoPaths = new Set<string>(OWITHO_PATHS);
/** The per-job enqueue routes, the only ones the admin listener's document shows. */
const jobOfPath = new Map<string, PublicJobName>(
  PUBLIC_JOB_NAMES.map((name) => [`/admin/jobs/${name}`, name]),
);

/** A job's body as the catalog file gives it (unknown fields refused), not zod's looser default. */
function jobBody(name: PublicJobName): Record<string, unknown> {
  const { $schema: _, ...body } = jobPayloadJsonSchema(jobCatalog[name].schema, 'openapi-3.0') as Record<
    string,
    unknown
  >;
  return body;
}

/** Where the admin listener serves its documents and the docs UI (register with no prefix). */
const DOCS_PREFIX = '/docs';

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
 * document (docsRoutes).
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

/**
 * @fastify/swagger on the admin listener's root instance, before its routes: the document of
 * `POST /admin/jobs/{name}`, one path per public job, its body generated from the catalog's zod
 * schema (unknown fields refused, as the route does), its answers from the route's schemas. Every
 * other admin route (dashboard, console, the catch-all for unknown names) is hidden.
 */
export async function registerAdminOpenapi(app: FastifyInstance): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'owitho-connector jobs',
        description:
          'How other systems enqueue into the connector: one route per public job, the body being the ' +
          "job's payload. Authorization: `Bearer <API key>` (scoped to job names; `pnpm cli keys:create`) " +
          "or the operator's basic auth. Errors are `{error, message, field?, problems?}` listing every " +
          'problem. The same payloads as one JSON Schema file: packages/queues/job-catalog.schema.json in the repository.',
        version: '1.0.0',
      },
      tags: [{ name: 'jobs', description: 'enqueue a public job (the internal jobs are refused with 403)' }],
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'an API key of the calling system' },
          operator: {
            type: 'http',
            scheme: 'basic',
            description: "the operator's ADMIN_USER / ADMIN_PASSWORD",
          },
        },
      },
    },
    transform: (document) => {
      const name = jobOfPath.get(document.url);
      if (!name) return { schema: { ...document.schema, hide: true }, url: document.url };
      const transformed = jsonSchemaTransform(document);
      return { ...transformed, schema: { ...transformed.schema, body: jobBody(name) } };
    },
  });
}

/**
 * Under DOCS_PREFIX on the admin listener: `openapi.json` (owitho's calls into the public
 * listener, from `documented`), `json`/`yaml` (the job routes, this listener's own document) and
 * the docs UI at `/docs/`, which offers both. Not behind the admin auth (docs/console.md says why).
 */
export async function docsRoutes(app: FastifyInstance, documented: FastifyInstance): Promise<void> {
  app.get(`${DOCS_PREFIX}/openapi.json`, { schema: { hide: true } }, async () => documented.swagger());
  await app.register(fastifySwaggerUi, {
    routePrefix: DOCS_PREFIX,
    uiConfig: {
      // the first is the one shown on opening
      urls: [
        { url: `${DOCS_PREFIX}/json`, name: 'jobs (POST /admin/jobs/{name})' },
        { url: `${DOCS_PREFIX}/openapi.json`, name: "owitho's calls (public listener)" },
      ],
    },
  });
}
