import { describeZodError } from '@owc/protocol';
import type { FastifyReply } from 'fastify';
import type { z } from 'zod';

/** A control-API refusal: HTTP 400 naming the first bad field (`(body)` for the body itself). */
export function badRequest(reply: FastifyReply, error: z.ZodError) {
  const issue = error.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.map(String).join('.') : '(body)';
  return reply.code(400).send({ error: 'bad_request', field, message: describeZodError(error) });
}
