import {
  centsToMoney,
  type MachineLayout,
  moneyToCents,
  type OrderDetail,
  type OrderNotice,
} from '@owc/protocol';

/** 2 × COLA at 1.50 (list 2.00) on slot 01 and 2 × CHIPS at 2.00 on slot 02 of M001: 4 units, 7.00 paid. */
const sampleLines: OrderDetail[] = [
  { skuCode: 'COLA', slotNum: '01', quantity: 2, originalPrice: '2.00', actualPrice: '1.50' },
  { skuCode: 'CHIPS', slotNum: '02', quantity: 2, originalPrice: '2.00', actualPrice: '2.00' },
];

/** The order amounts that `lines` add up to: Σ quantity × price, and the difference as discount. */
export function amountsOf(
  lines: readonly OrderDetail[],
): Pick<OrderNotice, 'originAmount' | 'actualAmount' | 'discountMoney'> {
  let origin = 0;
  let actual = 0;
  for (const line of lines) {
    origin += line.quantity * moneyToCents(line.originalPrice);
    actual += line.quantity * moneyToCents(line.actualPrice);
  }
  return {
    originAmount: centsToMoney(origin),
    actualAmount: centsToMoney(actual),
    discountMoney: centsToMoney(origin - actual),
  };
}

/**
 * A paid order notice on machine M001, container 01. `overrides` replace any field; when they
 * give `orderDetailList` and no amounts, the amounts are those the lines add up to, so the
 * notice is always consistent unless a test makes it otherwise on purpose.
 */
export function sampleNotice(orderViewId: string, overrides: Partial<OrderNotice> = {}): OrderNotice {
  const lines = overrides.orderDetailList ?? sampleLines;
  return {
    orderViewId,
    machineCode: 'M001',
    containerCode: '01',
    ...amountsOf(lines),
    payStatus: 1,
    refundStatus: 0,
    orderTime: 1_700_000_000_000,
    payCompleteTime: 1_700_000_001_000,
    payMethod: 2,
    orderDetailList: lines,
    ...overrides,
  };
}

/**
 * A paid notice for a machine's layout: `lines` are [slot index, quantity] pairs, each priced
 * from the slot; the amounts add up; the order was paid just now.
 */
export function noticeFor(
  orderViewId: string,
  machine: MachineLayout,
  lines: readonly (readonly [number, number])[],
  overrides: Partial<OrderNotice> = {},
): OrderNotice {
  const orderDetailList = lines.map(([slotIndex, quantity]): OrderDetail => {
    const slot = machine.slotList[slotIndex];
    if (!slot) throw new RangeError(`machine ${machine.machineCode} has no slot #${slotIndex}`);
    return {
      skuCode: slot.skuCode,
      slotNum: slot.slotNum,
      quantity,
      originalPrice: slot.originalPrice,
      actualPrice: slot.actualPrice,
    };
  });
  const now = Date.now();
  return sampleNotice(orderViewId, {
    machineCode: machine.machineCode,
    containerCode: machine.containerCode ?? '01',
    orderTime: now - 1000,
    payCompleteTime: now,
    orderDetailList,
    ...overrides,
  });
}
