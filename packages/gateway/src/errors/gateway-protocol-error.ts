import { GatewayError } from './gateway-error.js';

/** The gateway answered something that does not fit docs/gateway.md; `field` names what failed. */
export class GatewayProtocolError extends GatewayError {
  override name = 'GatewayProtocolError';
  constructor(
    message: string,
    readonly field: string,
    readonly statusCode?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
