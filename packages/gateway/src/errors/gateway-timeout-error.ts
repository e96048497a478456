import { GatewayError } from './gateway-error.js';

/**
 * No answer within the timeout. The request may have reached the gateway and the unit may
 * have dropped: ask (`getVend`) before sending the vend again.
 */
export class GatewayTimeoutError extends GatewayError {
  override name = 'GatewayTimeoutError';
  constructor(
    message: string,
    readonly timeoutMs: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
