import { moneyToCents, orderNoticeSchema } from '@owc/protocol';
import { generateFleet } from '@owc/sim-fleet';
import { describe, expect, it } from 'vitest';
import { OrderGenerator } from './order-generator.js';

describe('OrderGenerator', () => {
  const machines = generateFleet({ machines: 3, slotsPerMachine: 12 }).machines.map((m) => ({
    ...m,
    // a coupon on every other slot, so discounts are not always zero
    slotList: m.slotList.map((s, i) =>
      i % 2 === 0 ? s : { ...s, actualPrice: ((moneyToCents(s.originalPrice) * 0.67) / 100).toFixed(2) },
    ),
  }));

  it('builds valid paid orders with exact money and unique ids', () => {
    const generator = new OrderGenerator();
    const ids = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const n = generator.generate(machines, Date.now());
      expect(orderNoticeSchema.safeParse(n).success).toBe(true);
      ids.add(n.orderViewId);
      expect(n).toMatchObject({ payStatus: 1, refundStatus: 0 });
      expect(n.orderDetailList.length).toBeGreaterThanOrEqual(1);
      expect(n.orderDetailList.length).toBeLessThanOrEqual(3);
      const machine = machines.find((m) => m.machineCode === n.machineCode);
      let origin = 0;
      let actual = 0;
      for (const line of n.orderDetailList) {
        expect(line.quantity).toBeGreaterThanOrEqual(1);
        expect(line.quantity).toBeLessThanOrEqual(3);
        const slot = machine?.slotList.find((s) => s.slotNum === line.slotNum);
        expect(slot).toMatchObject({ skuCode: line.skuCode, actualPrice: line.actualPrice });
        origin += line.quantity * moneyToCents(line.originalPrice);
        actual += line.quantity * moneyToCents(line.actualPrice);
      }
      expect(moneyToCents(n.originAmount)).toBe(origin);
      expect(moneyToCents(n.actualAmount)).toBe(actual);
      expect(moneyToCents(n.discountMoney)).toBe(origin - actual);
    }
    expect(ids.size).toBe(500);
  });

  it('makes unpaid orders and targets a machine on request; refuses an unknown machine', () => {
    const generator = new OrderGenerator();
    const n = generator.generate(machines, Date.now(), { unpaid: true, machineCode: 'M002' });
    expect(n).toMatchObject({ payStatus: 0, machineCode: 'M002' });
    expect(() => generator.generate(machines, Date.now(), { machineCode: 'M404' })).toThrow(/M404/);
    expect(() => generator.generate([], Date.now())).toThrow(/no machine layout/);
  });
});
