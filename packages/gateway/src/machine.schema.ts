import { type MachineLayout, machineLayoutSchema, machineStatusSchema, slotSchema } from '@owc/protocol';
import { z } from 'zod';

const code = z.string().min(1).max(128);

/** One container of a machine that has several (GATEWAY: machine state, multi-container shape). */
export const containerStateSchema = z.object({
  containerCode: code,
  /** the container's own status, when given, overrides the machine's */
  machineStatus: machineStatusSchema.optional(),
  slotList: z.array(slotSchema),
});

/** `GET /machines/{code}` of a machine with several containers. */
export const multiContainerMachineSchema = z.object({
  machineCode: code,
  machineStatus: machineStatusSchema,
  containers: z.array(containerStateSchema).min(1),
});
export type MultiContainerMachine = z.infer<typeof multiContainerMachineSchema>;

/**
 * What `GET /machines/{code}` may answer: the single-container shape (the machine/query payload)
 * or the multi-container one. The multi shape is tried first: a body with `containers` is never
 * read as a machine without slots.
 */
export const machineStateSchema = z.union([multiContainerMachineSchema, machineLayoutSchema]);
export type MachineState = z.infer<typeof machineStateSchema>;

/**
 * A machine's state as one layout per container, sorted by containerCode (a single-container
 * answer is a list of one, with or without containerCode).
 */
export function layoutsOf(state: MachineState): MachineLayout[] {
  if (!('containers' in state)) return [state];
  return [...state.containers]
    .sort((a, b) => (a.containerCode < b.containerCode ? -1 : a.containerCode > b.containerCode ? 1 : 0))
    .map((container) => ({
      machineCode: state.machineCode,
      containerCode: container.containerCode,
      machineStatus: container.machineStatus ?? state.machineStatus,
      slotList: container.slotList,
    }));
}
