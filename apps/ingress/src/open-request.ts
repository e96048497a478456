import { type OpenResult, openEnvelope, ResultCode } from '@owc/protocol';
import type { z } from 'zod';
import type { IngressDeps } from './ingress-deps.js';
import { ServiceUnavailableError } from './service-unavailable-error.js';

/**
 * Runs the envelope checks of PROTOCOL.md against the tokens honoured right now. The checks
 * that need no token (shape, appId, salt, utc) run first, so a malformed or stale request never
 * costs a Redis read. Throws ServiceUnavailableError when the tokens cannot be read or none
 * exists yet: that is our problem, not the caller's, and owitho must retry.
 */
export async function openRequest<S extends z.ZodType>(
  deps: IngressDeps,
  route: string,
  body: unknown,
  schema: S,
): Promise<OpenResult<z.infer<S>>> {
  const options = {
    appId: deps.config.OWITHO_APP_ID,
    now: (deps.now ?? Date.now)(),
    toleranceMs: deps.config.UTC_TOLERANCE_MS,
  };
  const early = openEnvelope(body, { ...options, tokens: [] }, schema);
  let result = early;
  if (!early.ok && early.code === ResultCode.SIGNATURE_FAILED) {
    let tokens: string[];
    try {
      tokens = await deps.tokens.peekHonouredTokens();
    } catch (error) {
      throw new ServiceUnavailableError('cannot read the access tokens', { cause: error });
    }
    if (tokens.length === 0) throw new ServiceUnavailableError('no access token is available yet');
    result = openEnvelope(body, { ...options, tokens }, schema);
  }
  if (!result.ok) deps.metrics.envelopeRejections.inc({ route, code: String(result.code) });
  return result;
}
