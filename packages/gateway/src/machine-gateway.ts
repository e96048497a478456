import type { MachineLayout } from '@owc/protocol';
import type { VendAnswer, VendRequest } from './vend.schema.js';

/**
 * How the connector drives vending machines (docs/gateway.md). The HTTP driver is the default;
 * another transport (MQTT, a vendor SDK) implements the same interface.
 *
 * Errors (all extend GatewayError):
 * - GatewayTimeoutError: no answer in time. The vend MAY have happened: ask (`getVend`) before retrying.
 * - GatewayUnavailableError: refused / reset / 5xx. Not known to be received; still ask before vending again.
 * - GatewayRejectedError: 400, names `field`; UnknownMachineError (a GatewayRejectedError) on 404 unknown_machine.
 * - GatewayProtocolError: the answer does not fit the contract; names the field.
 */
export interface MachineGateway {
  /** Vends one unit; resolves with the gateway's answer (normally success or failed). */
  vend(machineCode: string, request: VendRequest): Promise<VendAnswer>;
  /** What happened to a vend; `undefined` = 404 unknown_vend: the gateway never received it. */
  getVend(vendId: string): Promise<VendAnswer | undefined>;
  /**
   * The machine's live layout (one container: `containerCode` picks it; without, the only one, or
   * the first by code); `undefined` = 404 unknown_machine or no such container.
   */
  getMachine(machineCode: string, containerCode?: string): Promise<MachineLayout | undefined>;
  /** Every container of the machine as its own layout, sorted by containerCode; `undefined` = 404. */
  getContainers(machineCode: string): Promise<MachineLayout[] | undefined>;
  /** with `graceMs`: requests still in flight after that long are cut */
  close(graceMs?: number): Promise<void>;
}
