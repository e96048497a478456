import { GatewayError } from './gateway-error.js';

/**
 * The gateway could not be reached or could not serve: connection refused, reset, closed,
 * 5xx, 429. The request is not known to have been received (a reset after the request was
 * written cannot prove it was not): the caller asks before vending again, as always.
 */
export class GatewayUnavailableError extends GatewayError {
  override name = 'GatewayUnavailableError';
  constructor(
    message: string,
    /** the HTTP status when the gateway answered (5xx/429), else undefined */
    readonly statusCode?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
