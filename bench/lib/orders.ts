import type { MachineLayout, OrderNotice } from '@owc/protocol';
import { noticeFor as sampleNoticeFor } from '@owc/testing/kit';

/**
 * A paid notice of one line, 1–3 units (by `n`), on slot `n` of the machine: deterministic, so
 * every run of a benchmark vends the same units.
 */
export function noticeFor(orderViewId: string, machine: MachineLayout, n: number): OrderNotice {
  if (machine.slotList.length === 0) throw new RangeError(`machine ${machine.machineCode} has no slots`);
  return sampleNoticeFor(orderViewId, machine, [[n % machine.slotList.length, 1 + (n % 3)]]);
}

export function unitsOf(notice: OrderNotice): number {
  return notice.orderDetailList.reduce((n, line) => n + line.quantity, 0);
}
