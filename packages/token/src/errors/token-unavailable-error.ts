/** No token could be had in time: no pod managed to fetch one before the wait deadline. */
export class TokenUnavailableError extends Error {
  override name = 'TokenUnavailableError';
}
