import {
  CUSTOM_JOB_ID_PATTERN,
  checkJobPayload,
  customJobId,
  isJobName,
  jobCatalog,
  keyAllows,
  type PayloadProblem,
  PUBLIC_JOB_NAMES,
  type PublicJobName,
} from '@owc/queues';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { IngressDeps } from '../ingress-deps.js';

/** The error body of every /admin answer: `field` is the first problem's, `problems` lists all. */
export const adminErrorSchema = z.object({
  error: z.string().describe('a stable code: invalid_payload, unknown_job, internal_job, forbidden, …'),
  message: z.string().describe('every problem, in words'),
  field: z.string().optional().describe('the first field at fault (dotted path)'),
  problems: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
});

export const enqueuedSchema = z.object({
  jobId: z.string().describe('the id of the job (ext-<jobId> when the caller gave one)'),
  name: z.string(),
  queue: z.string(),
  duplicate: z.boolean().describe('true when a job with this jobId already existed: nothing was added'),
});

export const jobQuerySchema = z.strictObject({
  jobId: z
    .string()
    .regex(CUSTOM_JOB_ID_PATTERN, { message: `jobId must match ${CUSTOM_JOB_ID_PATTERN}` })
    .optional()
    .describe('your own id: the same jobId enqueues once while that job exists (stored as ext-<jobId>)'),
});

function problemsAnswer(reply: FastifyReply, status: number, error: string, problems: PayloadProblem[]) {
  const message = problems.map((p) => (p.field ? `${p.field}: ${p.message}` : p.message)).join('; ');
  return reply.code(status).send({ error, message, field: problems[0]?.field || undefined, problems });
}

/** Our own validation: the route's schema is for the OpenAPI document only. */
const documentOnly = () => (value: unknown) => ({ value });

/**
 * POST /admin/jobs/{name} for each public job — how systems that are not Node enqueue into the
 * catalog's queues. Body: the job payload (the same zod schema the consumer re-validates,
 * unknown fields refused). 202 {jobId, name, queue, duplicate}; 400 {error, message, field,
 * problems} listing every problem; 403 for a job the caller's key does not cover and for the
 * internal jobs (never enqueued over HTTP); 404 for an unknown job name; 422 for a
 * `machine.restocked` of a machine the gateway does not know; 503 when Redis or the gateway
 * cannot answer. `?jobId=` makes the enqueue idempotent while that job exists; it lives in its
 * own namespace (ext-…), apart from any order's jobs.
 */
export async function adminJobsRoute(app: FastifyInstance, deps: IngressDeps): Promise<void> {
  for (const name of PUBLIC_JOB_NAMES) {
    const definition = jobCatalog[name];
    app.post(
      `/jobs/${name}`,
      {
        validatorCompiler: documentOnly,
        schema: {
          summary: `enqueue ${name}`,
          description: `${definition.description} Queue \`${definition.queue}\`.`,
          tags: ['jobs'],
          security: [{ apiKey: [] }, { operator: [] }],
          querystring: jobQuerySchema,
          body: definition.schema,
          // a response schema's description is the answer's description in the OpenAPI document
          response: {
            202: enqueuedSchema.describe('enqueued, or a duplicate jobId (nothing added)'),
            '4XX': adminErrorSchema.describe(
              '400 invalid payload (every problem), 401, 403 not in the key scope, 404, 422 unknown machine, 429',
            ),
            503: adminErrorSchema.describe('Redis or the machine gateway cannot answer: retry'),
          },
        },
      },
      (request, reply) => enqueue(name, request, reply, deps),
    );
  }
  app.post(
    '/jobs/:name',
    { validatorCompiler: documentOnly, schema: { hide: true } },
    async (request, reply) => {
      const { name } = request.params as { name: string };
      if (isJobName(name)) {
        request.log.warn({ principal: request.principal?.name, job: name }, 'internal job refused over HTTP');
        return reply.code(403).send({
          error: 'internal_job',
          message: `${name} is internal: only the connector itself adds it`,
        });
      }
      return reply.code(404).send({
        error: 'unknown_job',
        message: `unknown job name "${name}": one of ${PUBLIC_JOB_NAMES.join(', ')}`,
        field: 'name',
        jobs: PUBLIC_JOB_NAMES,
      });
    },
  );
}

async function enqueue(
  name: PublicJobName,
  request: FastifyRequest,
  reply: FastifyReply,
  deps: IngressDeps,
): Promise<FastifyReply> {
  const principal = request.principal;
  if (principal?.kind === 'system' && !keyAllows(principal.key, name)) {
    request.log.warn({ system: principal.name, job: name }, 'job refused: not in the key scope');
    return reply
      .code(403)
      .send({ error: 'forbidden', message: `the key of ${principal.name} may not enqueue ${name}` });
  }
  const problems: PayloadProblem[] = [];
  const query = jobQuerySchema.safeParse(request.query);
  if (!query.success) {
    for (const issue of query.error.issues) {
      const keys = issue.code === 'unrecognized_keys' ? issue.keys : [issue.path.map(String).join('.')];
      for (const key of keys) {
        problems.push({
          field: key,
          message: issue.code === 'unrecognized_keys' ? 'unknown query parameter' : issue.message,
        });
      }
    }
  }
  const payload = checkJobPayload(name, request.body);
  if (!payload.ok) problems.push(...payload.problems);
  if (problems.length > 0 || !payload.ok || !query.success) {
    return problemsAnswer(reply, 400, 'invalid_payload', problems);
  }

  if (name === 'machine.restocked') {
    const { machineCode } = payload.data as { machineCode: string };
    let known: boolean;
    try {
      known = (await deps.gateway.getMachine(machineCode)) !== undefined;
    } catch (error) {
      request.log.warn({ err: error, machineCode }, 'machine gateway unavailable: answering 503');
      return reply.code(503).send({
        error: 'unavailable',
        message: 'the machine gateway cannot say whether the machine exists: retry',
      });
    }
    if (!known) {
      return problemsAnswer(reply, 422, 'unknown_machine', [
        { field: 'machineCode', message: `the machine gateway does not know machine ${machineCode}` },
      ]);
    }
  }

  const definition = jobCatalog[name];
  try {
    const jobId = query.data.jobId ? customJobId(query.data.jobId) : undefined;
    const duplicate = jobId
      ? (await deps.producer.queue(definition.queue).getJob(jobId)) !== undefined
      : false;
    const { id } =
      duplicate && jobId ? { id: jobId } : await deps.producer.enqueue(name, payload.data, { jobId });
    request.log.info(
      { system: principal?.name, principalKind: principal?.kind, job: name, jobId: id, duplicate },
      'job enqueued over HTTP',
    );
    return reply.code(202).send({ jobId: id, name, queue: definition.queue, duplicate });
  } catch (error) {
    request.log.warn({ err: error, job: name }, 'enqueue failed: answering 503');
    return reply.code(503).send({ error: 'unavailable', message: 'the queue store is unavailable: retry' });
  }
}
