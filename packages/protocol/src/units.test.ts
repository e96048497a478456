import { describe, expect, it } from 'vitest';
import { type OrderNotice, orderNoticeSchema } from './payloads.js';
import { flattenOrder, vendIdOf } from './units.js';

describe('flattenOrder', () => {
  it('quantity 3 → 3 units, indexes 0..2, vendIds orderViewId-index', () => {
    const units = flattenOrder({
      orderViewId: 'XBL0001',
      orderDetailList: [
        { skuCode: 'COLA', slotNum: '01', quantity: 3, originalPrice: '2.00', actualPrice: '2.00' },
      ],
    });
    expect(units).toEqual(
      [0, 1, 2].map((index) => ({
        index,
        vendId: `XBL0001-${index}`,
        skuCode: 'COLA',
        slotNum: '01',
        originalPriceCents: 200,
        actualPriceCents: 200,
      })),
    );
  });

  it('keeps list order across several lines; the same SKU may appear in several lines (coupon split)', () => {
    const notice = {
      orderViewId: 'XBL0002',
      orderDetailList: [
        { skuCode: 'COLA', slotNum: '01', quantity: 2, originalPrice: '2.00', actualPrice: '1.67' },
        { skuCode: 'CHIPS', slotNum: '05', quantity: 2, originalPrice: '3.00', actualPrice: '3.00' },
        { skuCode: 'COLA', slotNum: '01', quantity: 1, originalPrice: '2.00', actualPrice: '1.66' },
      ],
    };
    const units = flattenOrder(notice);
    expect(units.map((u) => u.index)).toEqual([0, 1, 2, 3, 4]);
    expect(units.map((u) => u.vendId)).toEqual([
      'XBL0002-0',
      'XBL0002-1',
      'XBL0002-2',
      'XBL0002-3',
      'XBL0002-4',
    ]);
    expect(units.map((u) => [u.skuCode, u.slotNum])).toEqual([
      ['COLA', '01'],
      ['COLA', '01'],
      ['CHIPS', '05'],
      ['CHIPS', '05'],
      ['COLA', '01'],
    ]);
    expect(units.map((u) => u.actualPriceCents)).toEqual([167, 167, 300, 300, 166]);
    expect(units.map((u) => u.originalPriceCents)).toEqual([200, 200, 300, 300, 200]);
    // stable: the same notice flattens the same way every time
    expect(flattenOrder(notice)).toEqual(units);
  });

  it('a notice with the same SKU in several lines passes the schema and flattens to one unit per quantity', () => {
    const notice: OrderNotice = {
      orderViewId: 'XBL0003',
      machineCode: 'M001',
      containerCode: '01',
      discountMoney: '1.00',
      originAmount: '6.00',
      actualAmount: '5.00',
      payStatus: 1,
      refundStatus: 0,
      orderTime: 1526697000000,
      payCompleteTime: 1526697001000,
      payMethod: 1,
      orderDetailList: [
        { skuCode: 'COLA', slotNum: '01', quantity: 2, originalPrice: '2.00', actualPrice: '1.67' },
        { skuCode: 'COLA', slotNum: '01', quantity: 1, originalPrice: '2.00', actualPrice: '1.66' },
      ],
    };
    const parsed = orderNoticeSchema.parse(notice);
    const units = flattenOrder(parsed);
    expect(units).toHaveLength(3);
    expect(units.reduce((sum, u) => sum + u.actualPriceCents, 0)).toBe(500);
  });

  it('vendIdOf is orderViewId-index', () => {
    expect(vendIdOf('XBL0001', 0)).toBe('XBL0001-0');
    expect(vendIdOf('A-B', 12)).toBe('A-B-12');
  });
});
