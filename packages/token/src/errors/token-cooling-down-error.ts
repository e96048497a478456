import { TokenUnavailableError } from './token-unavailable-error.js';

/** The last token fetch failed and the shared cooldown has not ended: no request was made. */
export class TokenCoolingDownError extends TokenUnavailableError {
  override name = 'TokenCoolingDownError';
  constructor(
    readonly retryAt: number,
    readonly failures: number,
    readonly misconfiguration: string | undefined,
  ) {
    super(
      `access token fetch cooling down after ${failures} failed attempt(s) until ${new Date(retryAt).toISOString()}` +
        (misconfiguration ? ` (owitho refused our credentials: ${misconfiguration})` : ''),
    );
  }
}
