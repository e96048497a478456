import { centsToMoney, type MachineLayout, moneyToCents, orderNoticeSchema } from '@owc/protocol';
import { generateFleet } from '@owc/sim-fleet';
import { describe, expect, it } from 'vitest';
import {
  OrderGenerator,
  type TolerantForm,
  tolerantForms,
  UNKNOWN_PAY_METHOD,
  UNKNOWN_STATUS,
} from './order-generator.js';

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
      const generated = generator.generate(machines, Date.now());
      if (!generated.canonical) throw new Error('share 0 sends the canonical form only');
      const n = generated.notice;
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
      expect(generated.order).toMatchObject({
        form: 'canonical',
        paid: true,
        dispensable: true,
        units: n.orderDetailList.reduce((s, l) => s + l.quantity, 0),
        cents: { originAmount: origin, actualAmount: actual, discountMoney: origin - actual },
      });
    }
    expect(ids.size).toBe(500);
  });

  it('makes unpaid orders and targets a machine on request; refuses an unknown machine', () => {
    const generator = new OrderGenerator();
    const n = generator.generate(machines, Date.now(), { unpaid: true, machineCode: 'M002' });
    expect(n.notice).toMatchObject({ payStatus: 0, machineCode: 'M002' });
    expect(n.order).toMatchObject({ paid: false, dispensable: false });
    expect(() => generator.generate(machines, Date.now(), { machineCode: 'M404' })).toThrow(/M404/);
    expect(() => generator.generate([], Date.now())).toThrow(/no machine layout/);
    expect(() => new OrderGenerator(1.5)).toThrow(/tolerantShare/);
  });

  // M001 has one container; M002 has two (A1, B2); M003 one
  const [m1, m2, m3] = machines as [MachineLayout, MachineLayout, MachineLayout];
  const fleet = [m1, { ...m2, containerCode: 'A1' }, { ...structuredClone(m2), containerCode: 'B2' }, m3];

  it('sends the tolerant forms as raw JSON at exactly the share set, every form in turn', () => {
    const generator = new OrderGenerator(0.5);
    const all = Array.from({ length: 4 * tolerantForms.length }, () => generator.generate(fleet, Date.now()));
    const tolerant = all.filter((g) => !g.canonical);
    expect(tolerant).toHaveLength(2 * tolerantForms.length);
    const forms = new Map<TolerantForm | 'canonical', number>();
    for (const g of all) forms.set(g.order.form, (forms.get(g.order.form) ?? 0) + 1);
    expect(Object.fromEntries(forms)).toEqual({
      canonical: 2 * tolerantForms.length,
      ...Object.fromEntries(tolerantForms.map((f) => [f, 2])),
    });
    for (const { notice, order } of all) {
      const wire = JSON.stringify(notice);
      // our reader reads every form to the exact cents the generator meant
      const read = orderNoticeSchema.parse(JSON.parse(wire));
      expect(read).toMatchObject({
        actualAmount: centsToMoney(order.cents.actualAmount),
        originAmount: centsToMoney(order.cents.originAmount),
        discountMoney: centsToMoney(order.cents.discountMoney),
      });
      expect(read.payStatus === 1 && read.refundStatus === 0).toBe(order.dispensable);
      expect(read.orderDetailList.reduce((s, l) => s + l.quantity, 0)).toBe(order.units);
      const containers = fleet.filter((m) => m.machineCode === order.machineCode).map((m) => m.containerCode);
      expect(containers).toContain(order.containerCode);
      switch (order.form) {
        case 'amounts-without-decimals':
          // whole amounts travel without decimals, e.g. "actualAmount":"108"
          expect(wire).toMatch(/"actualAmount":"\d+"/);
          // every price whole too (a coupon down to whole yuan; under one yuan, free)
          expect(wire).not.toMatch(/"actualPrice":"\d+\.\d+"/);
          break;
        case 'amounts-as-json-numbers':
          expect(wire).toMatch(/"actualAmount":\d+(\.\d{1,2})?[,}]/);
          expect(wire).toMatch(/"originalPrice":\d/);
          break;
        case 'unknown-pay-method':
          expect(read.payMethod).toBe(UNKNOWN_PAY_METHOD);
          break;
        case 'unpaid-without-pay-time':
          expect(order.paid).toBe(false);
          expect(read.payStatus).toBe(0);
          expect(wire).not.toMatch(/payCompleteTime/);
          break;
        case 'unknown-pay-status':
          expect(read.payStatus).toBe(UNKNOWN_STATUS);
          expect(order.dispensable).toBe(false);
          break;
        case 'unknown-refund-status':
          expect(read).toMatchObject({ payStatus: 1, refundStatus: UNKNOWN_STATUS });
          expect(order).toMatchObject({ paid: true, dispensable: false });
          break;
        case 'container-of-several':
          expect(containers).toHaveLength(2);
          expect(read.containerCode).toBe(order.containerCode);
          break;
        case 'no-container':
          expect(containers).toHaveLength(1);
          expect(wire).not.toMatch(/containerCode/);
          break;
        default:
          expect(wire).toMatch(/"actualAmount":"\d+\.\d\d"/);
          expect(read.containerCode).toBe(order.containerCode);
      }
    }
  });

  it('skips a form the layouts cannot carry; share 0 sends only the canonical form', () => {
    const single = new OrderGenerator(1);
    const forms = Array.from({ length: 12 }, () => single.generate([m1, m3], Date.now()).order.form);
    expect(forms).not.toContain('container-of-several');
    expect(new Set(forms).size).toBe(tolerantForms.length - 1);
    const none = new OrderGenerator(0);
    expect(Array.from({ length: 50 }, () => none.generate(fleet, Date.now()).canonical)).not.toContain(false);
  });
});
