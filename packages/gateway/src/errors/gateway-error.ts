/** Base of every error the machine gateway driver throws. */
export class GatewayError extends Error {
  override name = 'GatewayError';
}
