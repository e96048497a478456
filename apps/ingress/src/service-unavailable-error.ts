/** We cannot durably take or answer the request right now (Redis down, no token yet): HTTP 503, code 40000. */
export class ServiceUnavailableError extends Error {
  override name = 'ServiceUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
