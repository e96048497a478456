import { GatewayRejectedError } from './gateway-rejected-error.js';

/** 404 `unknown_machine` on a vend: the gateway does not know this machine. */
export class UnknownMachineError extends GatewayRejectedError {
  override name = 'UnknownMachineError';
  constructor(
    readonly machineCode: string,
    options?: ErrorOptions,
  ) {
    super(`unknown machine ${machineCode}`, 404, 'unknown_machine', 'machineCode', options);
  }
}
