import { vendIdSchema } from '@owc/gateway';
import {
  machineLayoutOutSchema,
  machineLayoutSchema,
  machineStatusSchema,
  moneySchema,
  slotStatusSchema,
} from '@owc/protocol';
import { z } from 'zod';

// Shapes of the simulator's own control API and start options (not part of docs/gateway.md).

const code = z.string().min(1).max(128);
const slotNum = z.string().min(1).max(32);

/** "the next `count` vends of this machine drop the unit but hold the HTTP answer for `holdMs`" */
export const loseAnswersSchema = z.object({
  count: z.int().min(0).max(1_000_000),
  holdMs: z.int().min(1).max(3_600_000),
});
export type LoseAnswers = z.infer<typeof loseAnswersSchema>;

/** `POST /_sim/machines/:code/faults` */
export const machineFaultsSchema = z
  .object({
    /** 10 normal, 20 offline, 30 mechanical fault */
    machineStatus: machineStatusSchema.optional(),
    /** added to every vend's duration on this machine */
    extraLatencyMs: z.int().min(0).max(3_600_000).optional(),
    loseAnswers: loseAnswersSchema.optional(),
  })
  .strict()
  .refine((v) => Object.keys(v).length > 0, {
    message: 'name at least one of machineStatus, extraLatencyMs, loseAnswers',
  });
export type MachineFaults = z.infer<typeof machineFaultsSchema>;

/** `POST /_sim/machines/:code/slots/:slotNum/faults` */
export const slotFaultsSchema = z
  .object({
    /** a jammed slot turns the motor but the unit does not drop (failed: jammed) until cleared */
    jammed: z.boolean().optional(),
    /** 0 normal, any other value a slot fault (failed: slot_fault) */
    slotStatus: slotStatusSchema.optional(),
  })
  .strict()
  .refine((v) => Object.keys(v).length > 0, { message: 'name at least one of jammed, slotStatus' });
export type SlotFaults = z.infer<typeof slotFaultsSchema>;

/** One slot of a restock: what is not named stays as it is. */
export const restockSlotSchema = z
  .object({
    slotNum,
    currentInventory: z.int().min(0).optional(),
    maxInventory: z.int().min(0).optional(),
    skuCode: code.optional(),
    skuName: z.string().min(1).max(256).optional(),
    skuDesc: z.string().max(1024).optional(),
    originalPrice: moneySchema.optional(),
    actualPrice: moneySchema.optional(),
    slotStatus: slotStatusSchema.optional(),
  })
  .strict();
export type RestockSlot = z.infer<typeof restockSlotSchema>;

/** `POST /_sim/machines/:code/restock`; no `slots` (or none listed) = fill every slot to its maximum */
export const restockSchema = z
  .object({
    /** the container restocked (a machine with several); default: the machine's first */
    containerCode: code.optional(),
    slots: z.array(restockSlotSchema).max(1000).optional(),
  })
  .strict();
export type Restock = z.infer<typeof restockSchema>;

/** Faults set at start (MachineSimOptions.faults, MACHINE_SIM_FAULTS). */
export const startFaultSchema = z
  .object({
    machineCode: code,
    machineStatus: machineStatusSchema.optional(),
    extraLatencyMs: z.int().min(0).max(3_600_000).optional(),
    loseAnswers: loseAnswersSchema.optional(),
    jammedSlots: z.array(slotNum).optional(),
  })
  .strict();
export type StartFault = z.infer<typeof startFaultSchema>;
export const startFaultsSchema = z.array(startFaultSchema);

/** A seed: the machines with their layouts (a bare array or `{ "machines": [...] }`). */
export const seedSchema = z
  .union([
    z.array(machineLayoutSchema),
    z.object({ machines: z.array(machineLayoutSchema) }).transform((s) => s.machines),
  ])
  .pipe(
    // the first stage has read the money into wire form: the strict schema checks the result
    z.array(machineLayoutOutSchema).superRefine((machines, ctx) => {
      // several layouts with one machineCode are the containers of that machine: each names its own
      const seen = new Map<string, number>();
      for (const machine of machines) seen.set(machine.machineCode, (seen.get(machine.machineCode) ?? 0) + 1);
      const codes = new Set<string>();
      machines.forEach((machine, m) => {
        const several = (seen.get(machine.machineCode) ?? 0) > 1;
        const key = `${machine.machineCode}\u0000${machine.containerCode ?? ''}`;
        if (codes.has(key)) {
          ctx.addIssue({
            code: 'custom',
            path: [m, 'machineCode'],
            message: `duplicate machine ${machine.machineCode}${several && machine.containerCode !== undefined ? ` container ${machine.containerCode}` : ''}`,
          });
        } else if (several && machine.containerCode === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [m, 'containerCode'],
            message: `machine ${machine.machineCode} has several containers: each needs its containerCode`,
          });
        }
        codes.add(key);
        const slots = new Set<string>();
        machine.slotList.forEach((slot, s) => {
          if (slots.has(slot.slotNum)) {
            ctx.addIssue({
              code: 'custom',
              path: [m, 'slotList', s, 'slotNum'],
              message: `duplicate slot ${slot.slotNum}`,
            });
          }
          slots.add(slot.slotNum);
        });
      });
    }),
  );

/** `GET /ledger` query */
export const ledgerQuerySchema = z
  .object({
    machineCode: code.optional(),
    vendId: vendIdSchema.optional(),
    /** only entries with seq greater than this */
    after: z.coerce.number().int().min(0).optional(),
  })
  .strict();
