import { z } from 'zod';

/** machineStatus: 10 normal, 20 offline, 30 mechanical fault. */
export const MachineStatus = { NORMAL: 10, OFFLINE: 20, FAULT: 30 } as const;
export const machineStatusSchema = z.union([z.literal(10), z.literal(20), z.literal(30)]);
export type MachineStatus = z.infer<typeof machineStatusSchema>;

/** slotStatus: 0 normal; any other integer is a fault. */
export const SlotStatus = { NORMAL: 0, FAULT: 1 } as const;
export const slotStatusSchema = z.int().min(0);
export type SlotStatus = z.infer<typeof slotStatusSchema>;

/**
 * payStatus: 0 pending, 1 paid, 2 failed. Read open: the guide's list may grow, so any integer is
 * accepted and kept; only 1 (with refundStatus 0) is ever dispensed, anything else is settled 400.
 */
export const PayStatus = { PENDING: 0, PAID: 1, FAILED: 2 } as const;
export const payStatusSchema = z.int();
export type PayStatus = z.infer<typeof payStatusSchema>;

/** refundStatus: 0 none, 1 full refund, 2 partial refund, 3 refund failed. Read open, like payStatus. */
export const RefundStatus = { NONE: 0, FULL: 1, PARTIAL: 2, FAILED: 3 } as const;
export const refundStatusSchema = z.int();
export type RefundStatus = z.infer<typeof refundStatusSchema>;

/** payMethod: 1 Alipay, 2 WeChat, 3 balance, 4 bank card, 5 cash, 6 other; other values are kept as they are. */
export const PayMethod = { ALIPAY: 1, WECHAT: 2, BALANCE: 3, BANK_CARD: 4, CASH: 5, OTHER: 6 } as const;
export const payMethodSchema = z.int();
export type PayMethod = z.infer<typeof payMethodSchema>;

const known = (values: Record<string, number>) => new Set(Object.values(values));
const knownPayStatus = known(PayStatus);
const knownRefundStatus = known(RefundStatus);
const knownPayMethod = known(PayMethod);

/** The enum fields of a notice whose value is outside the guide's list (kept, counted, logged). */
export function unknownEnumFields(notice: {
  payStatus: number;
  refundStatus: number;
  payMethod: number;
}): Array<'payStatus' | 'refundStatus' | 'payMethod'> {
  const fields: Array<'payStatus' | 'refundStatus' | 'payMethod'> = [];
  if (!knownPayStatus.has(notice.payStatus)) fields.push('payStatus');
  if (!knownRefundStatus.has(notice.refundStatus)) fields.push('refundStatus');
  if (!knownPayMethod.has(notice.payMethod)) fields.push('payMethod');
  return fields;
}

/** outStatus (order level): 100 dispensing, 200 success, 300 partial, 400 failure. */
export const OutStatus = { DISPENSING: 100, SUCCESS: 200, PARTIAL: 300, FAILURE: 400 } as const;
export const outStatusSchema = z.union([z.literal(100), z.literal(200), z.literal(300), z.literal(400)]);
export type OutStatus = z.infer<typeof outStatusSchema>;

/** Per-unit status: 100 dispensing, 200 success, 400 failure (300 is order-level only). */
export const unitStatusSchema = z.union([z.literal(100), z.literal(200), z.literal(400)]);
export type UnitStatus = z.infer<typeof unitStatusSchema>;
