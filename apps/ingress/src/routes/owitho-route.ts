import { type Answer, envelopeSchema, errorAnswer, okAnswer, ResultCode } from '@owc/protocol';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { IngressDeps } from '../ingress-deps.js';
import { ServiceUnavailableError } from '../service-unavailable-error.js';
import { TimeLimitError } from '../time-limit.js';

/** The paths owitho calls; only these appear in the OpenAPI document. */
export const OWITHO_PATHS = ['/order/notice', '/order/query', '/machine/query'] as const;

/** The request body of an owitho call, for the OpenAPI document: the envelope, `data` naming its payload. */
export function envelopeBodySchema(payloadName: string) {
  return envelopeSchema
    .extend({
      salt: z.int().min(1000).max(9999),
      signatures: z
        .array(z.string())
        .min(1)
        .describe('md5 signatures under the current token (and the previous one while both are honoured)'),
      data: z
        .string()
        .describe(`the ${payloadName} payload as compact JSON (schema: components.schemas.${payloadName})`),
    })
    .describe('the owitho envelope (docs/protocol.md); a `signature` string or array is accepted too');
}

/** `{code,msg,data}` with the given data schema. */
export function answerSchema(data?: z.ZodType) {
  return z.object({
    code: z.int().describe('200 success; 40000-40004 protocol errors (answered with HTTP 200)'),
    msg: z.string(),
    ...(data ? { data: data.optional() } : {}),
  });
}

/**
 * Route options shared by the owitho calls. The zod schemas document the route (OpenAPI) but do
 * not validate the body: the envelope checks must run in docs/protocol.md's order and answer
 * `{code,msg}` with HTTP 200, which `openRequest` does.
 */
export const owithoRouteOptions = {
  validatorCompiler: () => (data: unknown) => ({ value: data }),
  serializerCompiler: () => (data: unknown) => JSON.stringify(data),
};

const OK_TEXT = JSON.stringify(okAnswer());

/** Remembers the protocol code of an answer for the request metrics, and sends it. */
export function answer(request: FastifyRequest, reply: FastifyReply, body: Answer, status = 200) {
  return send(request, reply, body.code, body, status);
}

/** `{code:200,msg:"success"}`, serialised once: the answer to nearly every notice. */
export function answerOk(request: FastifyRequest, reply: FastifyReply) {
  return send(request, reply, ResultCode.OK, OK_TEXT, 200);
}

function send(
  request: FastifyRequest,
  reply: FastifyReply,
  code: number,
  payload: Answer | string,
  status: number,
) {
  request.protocolCode = code;
  return reply.code(status).header('content-type', 'application/json; charset=utf-8').send(payload);
}

/**
 * Errors on owitho routes still answer `{code,msg}`: an unreadable JSON body is a protocol error
 * (HTTP 200, 40000); a wrong content type 415, a body over the limit 413; anything that stops us
 * from durably taking the request (Redis, no token, a time limit) 503 with 40000 so owitho retries.
 */
export function registerOwithoErrorHandler(app: FastifyInstance, deps: IngressDeps): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return answer(
        request,
        reply,
        errorAnswer(40000, 'request failed: content-type must be application/json'),
        415,
      );
    }
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return answer(
        request,
        reply,
        errorAnswer(
          40000,
          `request failed: body too large (BODY_LIMIT_BYTES ${deps.config.BODY_LIMIT_BYTES})`,
        ),
        413,
      );
    }
    if (error.statusCode === 400 && error.code?.startsWith('FST_ERR_CTP')) {
      deps.metrics.envelopeRejections.inc({ route, code: String(ResultCode.REQUEST_FAILED) });
      return answer(request, reply, errorAnswer(40000, 'request failed: body is not a JSON envelope'));
    }
    if (error instanceof ServiceUnavailableError || error instanceof TimeLimitError) {
      request.log.warn({ err: { message: error.message, cause: causeOf(error) } }, 'answering 503');
    } else {
      request.log.error({ err: error }, 'unexpected error: answering 503');
    }
    return answer(request, reply, errorAnswer(40000, 'service unavailable: retry later'), 503);
  });
}

function causeOf(error: Error): string | undefined {
  return error.cause instanceof Error ? error.cause.message : undefined;
}
