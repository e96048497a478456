/** The simulator cannot sign: the third party has not fetched a token yet (or it was revoked). */
export class NoTokenError extends Error {
  override name = 'NoTokenError';
}
