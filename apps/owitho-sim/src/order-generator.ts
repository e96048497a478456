import { centsToMoney, type MachineLayout, moneyToCents, type OrderNotice } from '@owc/protocol';

export interface GenerateOptions {
  machineCode?: string;
  unpaid?: boolean;
}

/** Builds plausible paid orders from the layouts owitho believes: 1–3 lines, 1–3 units each, exact money. */
export class OrderGenerator {
  private counter = 0;
  private readonly stamp = Date.now().toString(36).toUpperCase();

  constructor(private readonly random: () => number = Math.random) {}

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)] as T;
  }

  generate(machines: readonly MachineLayout[], now: number, options: GenerateOptions = {}): OrderNotice {
    const candidates = options.machineCode
      ? machines.filter((m) => m.machineCode === options.machineCode)
      : machines;
    const usable = candidates.filter((m) => m.slotList.length > 0);
    if (usable.length === 0) {
      throw new Error(
        options.machineCode
          ? `no layout known for machine ${options.machineCode}`
          : 'no machine layout known',
      );
    }
    const machine = this.pick(usable);
    const stocked = machine.slotList.filter((s) => s.currentInventory > 0 && s.slotStatus === 0);
    const slots = [...(stocked.length > 0 ? stocked : machine.slotList)];
    const lines = Math.min(slots.length, 1 + Math.floor(this.random() * 3));
    const orderDetailList: OrderNotice['orderDetailList'] = [];
    let origin = 0;
    let actual = 0;
    for (let i = 0; i < lines; i++) {
      const slot = slots.splice(Math.floor(this.random() * slots.length), 1)[0];
      if (!slot) break;
      const quantity = 1 + Math.floor(this.random() * 3);
      origin += quantity * moneyToCents(slot.originalPrice);
      actual += quantity * moneyToCents(slot.actualPrice);
      orderDetailList.push({
        skuCode: slot.skuCode,
        slotNum: slot.slotNum,
        quantity,
        originalPrice: slot.originalPrice,
        actualPrice: slot.actualPrice,
      });
    }
    this.counter++;
    return {
      orderViewId: `OW${this.stamp}${this.counter.toString().padStart(6, '0')}`,
      machineCode: machine.machineCode,
      containerCode: machine.containerCode ?? '01',
      discountMoney: centsToMoney(origin - actual),
      originAmount: centsToMoney(origin),
      actualAmount: centsToMoney(actual),
      payStatus: options.unpaid ? 0 : 1,
      refundStatus: 0,
      orderTime: now - 2000,
      payCompleteTime: now - 500,
      payMethod: 2,
      orderDetailList,
    };
  }
}
