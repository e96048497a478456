import { centsToMoney, type MachineLayout, moneyToCents, type OrderNotice } from '@owc/protocol';

/**
 * A paid notice of one line, 1–3 units (by `n`), on slot `n` of the machine: deterministic, so
 * every run of a benchmark vends the same units.
 */
export function noticeFor(orderViewId: string, machine: MachineLayout, n: number): OrderNotice {
  const slot = machine.slotList[n % machine.slotList.length];
  if (!slot) throw new RangeError(`machine ${machine.machineCode} has no slots`);
  const quantity = 1 + (n % 3);
  const origin = centsToMoney(quantity * moneyToCents(slot.originalPrice));
  const actual = centsToMoney(quantity * moneyToCents(slot.actualPrice));
  const now = Date.now();
  return {
    orderViewId,
    machineCode: machine.machineCode,
    containerCode: machine.containerCode ?? '01',
    discountMoney: centsToMoney(moneyToCents(origin) - moneyToCents(actual)),
    originAmount: origin,
    actualAmount: actual,
    payStatus: 1,
    refundStatus: 0,
    orderTime: now - 1000,
    payCompleteTime: now,
    payMethod: 2,
    orderDetailList: [
      {
        skuCode: slot.skuCode,
        slotNum: slot.slotNum,
        quantity,
        originalPrice: slot.originalPrice,
        actualPrice: slot.actualPrice,
      },
    ],
  };
}

export function unitsOf(notice: OrderNotice): number {
  return notice.orderDetailList.reduce((n, line) => n + line.quantity, 0);
}
