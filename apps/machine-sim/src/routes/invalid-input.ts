import { describeZodError } from '@owc/protocol';
import type { FastifyReply } from 'fastify';
import type { z } from 'zod';

/** Parses an input with its schema; on failure answers 400 `{error, field, message}` and returns undefined. */
export function parseOrReply<S extends z.ZodType>(
  schema: S,
  value: unknown,
  reply: FastifyReply,
  root?: string,
): z.infer<S> | undefined {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const path = result.error.issues[0]?.path.map(String) ?? [];
  const field = [...(root ? [root] : []), ...path].join('.') || '(body)';
  void reply
    .code(400)
    .send({ error: 'invalid_request', field, message: describeZodError(result.error, root) });
  return undefined;
}
