import {
  flattenOrder,
  isWireMoney,
  type OrderNotice,
  type OrderResult,
  type OrderUnit,
  type OutStatus,
  orderNoticeSchema,
  orderResultSchema,
  vendIdOf,
} from '@owc/protocol';
import { z } from 'zod';
import { unpackOrder } from './order-packed.js';

export const ORDER_STATES = ['accepted', 'dispensing', 'final', 'reported', 'dead'] as const;
/** built once: a zod schema built per call costs more than the check it makes */
export const orderStateSchema = z.enum(ORDER_STATES);
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

/** A unit as the order's pages show it (what a reported order still knows of its units). */
export type UnitLine = Pick<OrderUnit, 'index' | 'vendId' | 'slotNum' | 'skuCode'>;

interface StoredOrderBase {
  orderViewId: string;
  acceptedAt: number;
  machineCode: string;
  units: readonly UnitLine[];
  /** per unit index; absent = pending */
  unitStates: Map<number, UnitState>;
  result?: OrderResult;
  finalAt?: number;
  duplicates: number;
  conflicts: number;
  callback: CallbackState;
}

/** An order on its way (accepted … final, or dead): the whole notice and every unit's state. */
export interface OrderRecord extends StoredOrderBase {
  shape: 'whole';
  notice: OrderNotice;
  state: Exclude<OrderState, 'reported'>;
  units: OrderUnit[];
}

/**
 * A reported order, as it is kept until ORDER_TTL_MS: what deduplication and order/query need
 * (the fingerprint, the state, each unit's slot, SKU and final status) and the times and counts
 * the order pages show. The notice, unit prices and failure reasons are gone (the timeline keeps
 * the reasons).
 */
export interface ReportedOrder extends StoredOrderBase {
  shape: 'reported';
  /** what the notice said about money and payment, as stored (exact wire money) */
  notice: ReportedNotice;
  state: 'reported';
  result: OrderResult;
}

const reportedNoticeSchema = orderNoticeSchema.pick({
  orderViewId: true,
  machineCode: true,
  actualAmount: true,
  originAmount: true,
  discountMoney: true,
  payMethod: true,
  payStatus: true,
  refundStatus: true,
});
export type ReportedNotice = z.infer<typeof reportedNoticeSchema>;

/** A reported order's `paid` field: [actualAmount, originAmount, discountMoney, payMethod, payStatus, refundStatus]. */
const paidSchema = z.tuple([z.string(), z.string(), z.string(), z.number(), z.number(), z.number()]);

export type StoredOrder = OrderRecord | ReportedOrder;

/**
 * A reported order's units in its record (field `lines`): one entry per run of units with the
 * same slot and SKU (a notice line) and failure reason, `[slotNum, skuCode, statuses, reason?]`,
 * a status letter per unit (S 200, F 400), the reason of its failed units. Short enough for
 * Redis to keep the record as a listpack.
 */
export const reportedLinesSchema = z.array(
  z.tuple([z.string(), z.string(), z.string().regex(/^[SF]+$/)]).rest(z.string()),
);

/** Units, their states and the final result of a reported order's lines. */
function unitsOfLines(
  orderViewId: string,
  lines: readonly (readonly [string, string, string, ...(string | undefined)[]])[],
  finalAt: number | undefined,
): Pick<ReportedOrder, 'units' | 'unitStates' | 'result'> {
  const units: UnitLine[] = [];
  const statuses: (200 | 400)[] = [];
  const unitStates = new Map<number, UnitState>();
  for (const [slotNum, skuCode, letters, reason] of lines) {
    for (const letter of letters) {
      const index = units.length;
      units.push({ index, vendId: vendIdOf(orderViewId, index), slotNum, skuCode });
      statuses.push(letter === 'S' ? 200 : 400);
      unitStates.set(
        index,
        letter === 'S'
          ? { s: 'success', at: finalAt ?? 0 }
          : { s: 'failed', reason: reason ?? '', at: finalAt ?? 0 },
      );
    }
  }
  return { units, unitStates, result: finalResult(orderViewId, units, statuses) };
}

/** A reported order kept as one packed string (order-packed.ts). */
export function readPacked(orderViewId: string, value: string): ReportedOrder {
  const packed = unpackOrder(orderViewId, value);
  return {
    shape: 'reported',
    orderViewId,
    notice: { orderViewId, machineCode: packed.machineCode, ...packed.paid },
    state: 'reported',
    acceptedAt: packed.acceptedAt,
    machineCode: packed.machineCode,
    ...unitsOfLines(orderViewId, packed.lines, packed.finalAt),
    finalAt: packed.finalAt,
    duplicates: packed.duplicates,
    conflicts: packed.conflicts,
    callback: {
      attempts: packed.callbackAttempts,
      lastAttemptAt: packed.callbackLastAttemptAt,
      lastError: packed.callbackLastError,
      reportedAt: packed.reportedAt,
    },
  };
}

/** A reported order as a hash (the layout before reported orders were packed). */
function reportedOrder(orderViewId: string, record: Record<string, string>): ReportedOrder {
  const lines = reportedLinesSchema.parse(JSON.parse(record.lines ?? '[]'));
  const finalAt = optionalNumber(record.finalAt);
  const paid = paidSchema.parse(JSON.parse(record.paid ?? 'null'));
  const notice = reportedNoticeSchema.parse({
    orderViewId,
    machineCode: record.machineCode,
    actualAmount: paid[0],
    originAmount: paid[1],
    discountMoney: paid[2],
    payMethod: paid[3],
    payStatus: paid[4],
    refundStatus: paid[5],
  });
  return {
    shape: 'reported',
    orderViewId,
    notice,
    state: 'reported',
    acceptedAt: Number(record.acceptedAt),
    machineCode: record.machineCode ?? '',
    ...unitsOfLines(orderViewId, lines, finalAt),
    finalAt,
    duplicates: Number(record.duplicates ?? 0),
    conflicts: Number(record.conflicts ?? 0),
    callback: callbackState(record),
  };
}

function callbackState(record: Record<string, string>): CallbackState {
  return {
    attempts: Number(record.callbackAttempts ?? 0),
    lastAttemptAt: optionalNumber(record.callbackLastAttemptAt),
    lastError: record.callbackLastError || undefined,
    reportedAt: optionalNumber(record.reportedAt),
    deadAt: optionalNumber(record.deadAt),
  };
}

/** A reported order's final result from its `lines` field. */
export function reportedResult(orderViewId: string, lines: string): OrderResult {
  const statuses: (200 | 400)[] = [];
  const outDetailList: OrderResult['outDetailList'] = [];
  for (const [slotNum, skuCode, letters] of reportedLinesSchema.parse(JSON.parse(lines))) {
    for (const letter of letters) {
      const status = letter === 'S' ? 200 : 400;
      statuses.push(status);
      outDetailList.push({ slotNum, skuCode, status });
    }
  }
  return { orderViewId, outStatus: outStatusOf(statuses), outDetailList };
}

function optionalNumber(value: string | undefined): number | undefined {
  return value === undefined || value === '' ? undefined : Number(value);
}

/**
 * The notice as the record keeps it: written by `accept` from a notice the ingress parsed with
 * `orderNoticeSchema` (its money already two-decimal wire money), so it reads back as itself
 * and is not validated again on every read (a zod parse per dispense run was most of the
 * record read's CPU). Anything else in its place (not an object with lines) goes through the
 * schema, whose error names the field.
 */
function storedNotice(json: string): OrderNotice {
  const value: unknown = JSON.parse(json);
  return isStoredNotice(value) ? value : orderNoticeSchema.parse(value);
}

/** The stored notice's shape: its identifiers strings, its lines there, its money wire money. */
function isStoredNotice(value: unknown): value is OrderNotice {
  if (typeof value !== 'object' || value === null) return false;
  const notice = value as OrderNotice;
  if (
    typeof notice.orderViewId !== 'string' ||
    typeof notice.machineCode !== 'string' ||
    !isWireMoney(notice.actualAmount) ||
    !isWireMoney(notice.originAmount) ||
    !isWireMoney(notice.discountMoney) ||
    !Array.isArray(notice.orderDetailList) ||
    notice.orderDetailList.length === 0
  )
    return false;
  for (const line of notice.orderDetailList) {
    if (
      typeof line !== 'object' ||
      line === null ||
      typeof line.slotNum !== 'string' ||
      typeof line.skuCode !== 'string' ||
      !Number.isInteger(line.quantity) ||
      !isWireMoney(line.originalPrice) ||
      !isWireMoney(line.actualPrice)
    )
      return false;
  }
  return true;
}

/** Rebuilds an order from its two hashes; undefined when the order is unknown. */
export function readRecord(
  orderViewId: string,
  record: Record<string, string>,
  units: Record<string, string>,
): StoredOrder | undefined {
  if (record.lines !== undefined) return reportedOrder(orderViewId, record);
  if (!record.notice) return undefined;
  const notice = storedNotice(record.notice);
  const unitStates = new Map<number, UnitState>();
  for (const [index, raw] of Object.entries(units))
    unitStates.set(Number(index), unitStateSchema.parse(JSON.parse(raw)));
  const result = record.result ? orderResultSchema.parse(JSON.parse(record.result)) : undefined;
  const state = orderStateSchema.parse(record.state);
  const base = {
    orderViewId,
    acceptedAt: Number(record.acceptedAt),
    machineCode: record.machineCode ?? notice.machineCode,
    unitStates,
    finalAt: optionalNumber(record.finalAt),
    duplicates: Number(record.duplicates ?? 0),
    conflicts: Number(record.conflicts ?? 0),
    callback: callbackState(record),
  };
  // reported before records were shrunk (or not shrunk): seen in the reported shape all the same
  if (state === 'reported' && result) {
    const units = flattenOrder(notice);
    return { ...base, shape: 'reported', notice: reportedNoticeSchema.parse(notice), state, units, result };
  }
  if (state === 'reported') throw new Error(`order ${orderViewId}: reported without a final result`);
  return { ...base, shape: 'whole', notice, state, units: flattenOrder(notice), result };
}

/** The final result of units whose statuses are all known (the callback's payload). */
export function finalResult(
  orderViewId: string,
  units: readonly { slotNum: string; skuCode: string }[],
  statuses: readonly (200 | 400)[],
): OrderResult {
  return {
    orderViewId,
    outStatus: outStatusOf(statuses),
    outDetailList: units.map((unit, i) => ({
      slotNum: unit.slotNum,
      skuCode: unit.skuCode,
      status: statuses[i] as 200 | 400,
    })),
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
export function resultOf(record: StoredOrder): OrderResult {
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
export function finalResultOf(
  record: Pick<StoredOrder, 'orderViewId' | 'units' | 'unitStates'>,
): OrderResult | undefined {
  const statuses: (200 | 400)[] = [];
  for (const unit of record.units) {
    const state = record.unitStates.get(unit.index);
    if (!state || state.s === 'attempted') return undefined;
    statuses.push(state.s === 'success' ? 200 : 400);
  }
  return finalResult(record.orderViewId, record.units, statuses);
}
