import { GatewayError } from './gateway-error.js';

/** The gateway refused the request as invalid (400, other 4xx); permanent for this request. */
export class GatewayRejectedError extends GatewayError {
  override name = 'GatewayRejectedError';
  constructor(
    message: string,
    readonly statusCode: number,
    /** the gateway's `error` code, e.g. "invalid_request" */
    readonly code: string | undefined,
    /** the request field the gateway named, e.g. "slotNum" */
    readonly field: string | undefined,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
