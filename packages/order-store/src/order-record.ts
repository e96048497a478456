import {
  flattenOrder,
  type OrderNotice,
  type OrderResult,
  type OrderUnit,
  type OutStatus,
  orderNoticeSchema,
  orderResultSchema,
} from '@owc/protocol';
import { z } from 'zod';

export const ORDER_STATES = ['accepted', 'dispensing', 'final', 'reported', 'dead'] as const;
export type OrderState = (typeof ORDER_STATES)[number];

/** A unit's recorded state: `attempted` is written before the vend request leaves. */
export const unitStateSchema = z.discriminatedUnion('s', [
  z.object({ s: z.literal('attempted'), n: z.int().min(1), at: z.number() }),
  z.object({ s: z.literal('success'), at: z.number() }),
  z.object({ s: z.literal('failed'), reason: z.string(), at: z.number() }),
]);
export type UnitState = z.infer<typeof unitStateSchema>;
export type UnitResult = Extract<UnitState, { s: 'success' | 'failed' }>;

export interface CallbackState {
  attempts: number;
  lastAttemptAt?: number;
  lastError?: string;
  reportedAt?: number;
  deadAt?: number;
}

export interface OrderRecord {
  orderViewId: string;
  notice: OrderNotice;
  state: OrderState;
  acceptedAt: number;
  machineCode: string;
  units: OrderUnit[];
  /** per unit index; absent = pending */
  unitStates: Map<number, UnitState>;
  result?: OrderResult;
  finalAt?: number;
  duplicates: number;
  conflicts: number;
  callback: CallbackState;
}

function optionalNumber(value: string | undefined): number | undefined {
  return value === undefined || value === '' ? undefined : Number(value);
}

/** Rebuilds a record from the two hashes; undefined when the order is unknown. */
export function readRecord(
  orderViewId: string,
  record: Record<string, string>,
  units: Record<string, string>,
): OrderRecord | undefined {
  if (!record.notice) return undefined;
  const notice = orderNoticeSchema.parse(JSON.parse(record.notice));
  const unitStates = new Map<number, UnitState>();
  for (const [index, raw] of Object.entries(units))
    unitStates.set(Number(index), unitStateSchema.parse(JSON.parse(raw)));
  const result = record.result ? orderResultSchema.parse(JSON.parse(record.result)) : undefined;
  return {
    orderViewId,
    notice,
    state: z.enum(ORDER_STATES).parse(record.state),
    acceptedAt: Number(record.acceptedAt),
    machineCode: record.machineCode ?? notice.machineCode,
    units: flattenOrder(notice),
    unitStates,
    result,
    finalAt: optionalNumber(record.finalAt),
    duplicates: Number(record.duplicates ?? 0),
    conflicts: Number(record.conflicts ?? 0),
    callback: {
      attempts: Number(record.callbackAttempts ?? 0),
      lastAttemptAt: optionalNumber(record.callbackLastAttemptAt),
      lastError: record.callbackLastError || undefined,
      reportedAt: optionalNumber(record.reportedAt),
      deadAt: optionalNumber(record.deadAt),
    },
  };
}

/** outStatus from unit results: 200 all succeeded, 400 none, 300 some. */
export function outStatusOf(statuses: readonly (200 | 400)[]): Exclude<OutStatus, 100> {
  const ok = statuses.filter((s) => s === 200).length;
  if (ok === statuses.length && ok > 0) return 200;
  if (ok === 0) return 400;
  return 300;
}

/**
 * The order/query answer and the callback payload: one entry per unit. While dispensing the
 * order is 100 and units without a result are 100; once final it is the stored result.
 */
export function resultOf(record: OrderRecord): OrderResult {
  if (record.result) return record.result;
  return {
    orderViewId: record.orderViewId,
    outStatus: 100,
    outDetailList: record.units.map((unit) => {
      const state = record.unitStates.get(unit.index);
      const status = state?.s === 'success' ? 200 : state?.s === 'failed' ? 400 : 100;
      return { slotNum: unit.slotNum, skuCode: unit.skuCode, status };
    }),
  };
}

/** The final result, or undefined while some unit has no result yet. */
export function finalResultOf(record: OrderRecord): OrderResult | undefined {
  const statuses: (200 | 400)[] = [];
  for (const unit of record.units) {
    const state = record.unitStates.get(unit.index);
    if (!state || state.s === 'attempted') return undefined;
    statuses.push(state.s === 'success' ? 200 : 400);
  }
  return {
    orderViewId: record.orderViewId,
    outStatus: outStatusOf(statuses),
    outDetailList: record.units.map((unit, i) => ({
      slotNum: unit.slotNum,
      skuCode: unit.skuCode,
      status: statuses[i] as 200 | 400,
    })),
  };
}
