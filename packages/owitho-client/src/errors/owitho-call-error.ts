import type { CallOutcome } from '../call-outcome.js';

/** A getAccessToken call that did not give a token; carries the classified outcome. */
export class OwithoCallError extends Error {
  override name = 'OwithoCallError';
  constructor(readonly outcome: Exclude<CallOutcome, { kind: 'ok' }>) {
    super(`owitho call failed (${outcome.kind}): ${outcome.reason}`);
  }
}
