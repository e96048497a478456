import { InvalidJobError, isJobName, JOB_NAMES, jobCatalog } from '@owc/queues';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { IngressDeps } from '../ingress-deps.js';

const paramsSchema = z.object({ name: z.string() });
const querySchema = z.object({
  jobId: z
    .string()
    .min(1)
    .max(256)
    .refine((id) => !id.includes(':'), { message: 'jobId must not contain ":"' })
    .refine((id) => `${Number.parseInt(id, 10)}` !== id, { message: 'jobId must not be an integer' })
    .optional(),
});

/**
 * POST /admin/jobs/:name — lets systems that are not Node enqueue into the catalog's queues.
 * Body: the job payload as JSON (the same zod schema the consumer re-validates). 202 {jobId},
 * 400 {error, message} naming the field, 404 for an unknown job name, 503 when Redis cannot
 * take it. `?jobId=` makes the enqueue idempotent while that job exists. Registered inside the
 * admin plugin, behind its basic auth.
 */
export async function adminJobsRoute(app: FastifyInstance, deps: IngressDeps): Promise<void> {
  app.post('/jobs/:name', async (request, reply) => {
    const { name } = paramsSchema.parse(request.params);
    if (!isJobName(name)) {
      return reply
        .code(404)
        .send({ error: 'unknown_job', message: `unknown job name "${name}"`, jobs: JOB_NAMES });
    }
    const query = querySchema.safeParse(request.query);
    if (!query.success) {
      const issue = query.error.issues[0];
      return reply.code(400).send({ error: 'invalid_job_id', message: issue?.message ?? 'invalid jobId' });
    }
    try {
      const { id } = await deps.producer.enqueue(name, request.body as never, { jobId: query.data.jobId });
      request.log.info({ job: name, jobId: id }, 'job enqueued over HTTP');
      return reply.code(202).send({ jobId: id, name, queue: jobCatalog[name].queue });
    } catch (error) {
      if (error instanceof InvalidJobError) {
        return reply.code(400).send({ error: 'invalid_payload', message: error.message });
      }
      request.log.warn({ err: String(error), job: name }, 'enqueue failed: answering 503');
      return reply.code(503).send({ error: 'unavailable', message: 'the queue store is unavailable: retry' });
    }
  });
}
