import { type OpenResult, openEnvelope, ResultCode } from '@owc/protocol';
import type { z } from 'zod';
import type { IngressDeps } from './ingress-deps.js';
import { ServiceUnavailableError } from './service-unavailable-error.js';

/**
 * Runs the envelope checks of docs/protocol.md against the tokens honoured right now (an in-process
 * cached read, so one pass of the checks is all a request costs). Throws ServiceUnavailableError
 * when the tokens cannot be read or none exists yet: that is our problem, not the caller's, and
 * owitho must retry.
 */
export async function openRequest<S extends z.ZodType>(
  deps: IngressDeps,
  route: string,
  body: unknown,
  schema: S,
): Promise<OpenResult<z.infer<S>>> {
  const options = {
    appId: deps.config.OWITHO_APP_ID,
    tokens: [] as readonly string[],
    now: (deps.now ?? Date.now)(),
    toleranceMs: deps.config.UTC_TOLERANCE_MS,
  };
  const read = async (fresh: boolean): Promise<string[]> => {
    try {
      const source = deps.tokens;
      return fresh && source.freshHonouredTokens
        ? await source.freshHonouredTokens()
        : await source.peekHonouredTokens();
    } catch (error) {
      throw new ServiceUnavailableError('cannot read the access tokens', { cause: error });
    }
  };
  options.tokens = await read(false);
  let result = openEnvelope(body, options, schema);
  if (!result.ok && result.code === ResultCode.SIGNATURE_FAILED) {
    if (deps.tokens.freshHonouredTokens) {
      // the cached view may predate a rotation: look once more, straight from Redis
      const fresh = await read(true);
      if (fresh.join('\n') !== options.tokens.join('\n')) {
        options.tokens = fresh;
        result = openEnvelope(body, options, schema);
      }
    }
    if (options.tokens.length === 0) throw new ServiceUnavailableError('no access token is available yet');
    // still failing against every honoured token: owitho's token may have moved without us
    if (!result.ok && result.code === ResultCode.SIGNATURE_FAILED)
      await deps.tokens.signatureFailed?.(options.tokens);
  }
  if (result.ok) deps.tokens.verified?.();
  if (!result.ok) deps.metrics.envelopeRejections.inc({ route, code: String(result.code) });
  return result;
}
