import { describe, expect, it } from 'vitest';
import { readAnswer } from './answer.js';
import { centsToMoney, moneySchema, moneyToCents, splitCents } from './money.js';
import { machineLayoutSchema, orderNoticeSchema, orderResultSchema } from './payloads.js';
import { flattenOrder } from './units.js';

describe('money', () => {
  it('"10.50" ↔ 1050', () => {
    expect(moneyToCents('10.50')).toBe(1050);
    expect(moneyToCents('0.01')).toBe(1);
    expect(moneyToCents('0.00')).toBe(0);
    expect(centsToMoney(1050)).toBe('10.50');
    expect(centsToMoney(7)).toBe('0.07');
  });

  it.each(['10.5', '1e3', '-1.00', '10.555', '01.00', ' 1.00', '1.00 ', '', '1', '.50', '1,00', 'NaN'])(
    'rejects %j',
    (bad) => {
      expect(() => moneyToCents(bad)).toThrow(RangeError);
      expect(moneySchema.safeParse(bad).success).toBe(false);
    },
  );

  it('refuses non-integer or negative cents', () => {
    expect(() => centsToMoney(1.5)).toThrow(RangeError);
    expect(() => centsToMoney(-1)).toThrow(RangeError);
  });

  it('the coupon split: 3 × 2.00 with 1.00 off → 1.67, 1.67, 1.66, summing exactly', () => {
    const total = 3 * moneyToCents('2.00') - moneyToCents('1.00');
    const shares = splitCents(total, 3);
    expect(shares.map(centsToMoney)).toEqual(['1.67', '1.67', '1.66']);
    expect(shares.reduce((a, b) => a + b, 0)).toBe(total);
    expect(centsToMoney(total)).toBe('5.00');
  });
});

describe('flattenOrder', () => {
  const base = {
    orderViewId: 'XBL0001',
    orderDetailList: [
      { skuCode: 'COLA', slotNum: '01', quantity: 2, originalPrice: '2.00', actualPrice: '1.67' },
      { skuCode: 'COLA', slotNum: '01', quantity: 1, originalPrice: '2.00', actualPrice: '1.66' },
      { skuCode: 'CHIPS', slotNum: '02', quantity: 2, originalPrice: '3.00', actualPrice: '3.00' },
    ],
  };

  it('one unit per quantity, indexes 0..n-1 in list order, vendId = orderViewId-index', () => {
    const units = flattenOrder(base);
    expect(units.map((u) => u.vendId)).toEqual([
      'XBL0001-0',
      'XBL0001-1',
      'XBL0001-2',
      'XBL0001-3',
      'XBL0001-4',
    ]);
    expect(units.map((u) => u.skuCode)).toEqual(['COLA', 'COLA', 'COLA', 'CHIPS', 'CHIPS']);
    expect(units.map((u) => u.actualPriceCents)).toEqual([167, 167, 166, 300, 300]);
    expect(flattenOrder(base)).toEqual(units);
  });
});

describe('schemas and answers', () => {
  it('reads code as an int or a numeric string', () => {
    expect(readAnswer({ code: 200, msg: 'success' })).toMatchObject({ code: 200 });
    expect(readAnswer('{"code":"40002","msg":"x"}')).toMatchObject({ code: 40002, msg: 'x' });
    expect(readAnswer({ code: '200' })).toMatchObject({ code: 200, msg: '' });
    for (const bad of ['nope', '{', null, { msg: 'no code' }, { code: 'abc' }])
      expect(readAnswer(bad)).toBeUndefined();
  });

  it('rejects values outside the dictionaries', () => {
    const notice = {
      orderViewId: 'A',
      machineCode: 'M',
      containerCode: 'C',
      discountMoney: '0.00',
      originAmount: '1.00',
      actualAmount: '1.00',
      payStatus: 1,
      refundStatus: 0,
      orderTime: 1,
      payCompleteTime: 1,
      payMethod: 1,
      orderDetailList: [
        { skuCode: 'S', slotNum: '1', quantity: 1, originalPrice: '1.00', actualPrice: '1.00' },
      ],
    };
    expect(orderNoticeSchema.safeParse(notice).success).toBe(true);
    expect(orderNoticeSchema.safeParse({ ...notice, payStatus: 5 }).success).toBe(false);
    expect(orderNoticeSchema.safeParse({ ...notice, payMethod: 7 }).success).toBe(false);
    expect(orderNoticeSchema.safeParse({ ...notice, orderDetailList: [] }).success).toBe(false);
    expect(orderResultSchema.safeParse({ orderViewId: 'A', outStatus: 250, outDetailList: [] }).success).toBe(
      false,
    );
    expect(
      orderResultSchema.safeParse({
        orderViewId: 'A',
        outStatus: 200,
        outDetailList: [{ slotNum: '1', skuCode: 'S', status: 300 }],
      }).success,
    ).toBe(false);
    expect(machineLayoutSchema.safeParse({ machineCode: 'M', machineStatus: 15, slotList: [] }).success).toBe(
      false,
    );
    expect(machineLayoutSchema.safeParse({ machineCode: 'M', machineStatus: 20, slotList: [] }).success).toBe(
      true,
    );
  });
});
