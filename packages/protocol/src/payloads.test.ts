import { describe, expect, it } from 'vitest';
import { unknownEnumFields } from './dictionaries.js';
import { envelopeSchema, signEnvelope } from './envelope.js';
import {
  absoluteExpiry,
  accessTokenSchema,
  machineLayoutOutSchema,
  machineLayoutSchema,
  machineQuerySchema,
  noticeContainer,
  type OrderNotice,
  orderNoticeSchema,
  orderQuerySchema,
  orderResultSchema,
  type Sku,
  skuOutSchema,
  skuSchema,
  skuSyncSchema,
} from './payloads.js';
import { describeZodError } from './zod-error.js';

const notice: OrderNotice = {
  orderViewId: 'XBL0001',
  machineCode: 'M001',
  containerCode: '01',
  discountMoney: '1.00',
  originAmount: '8.00',
  actualAmount: '7.00',
  payStatus: 1,
  refundStatus: 0,
  orderTime: 1526697000000,
  payCompleteTime: 1526697003000,
  payMethod: 2,
  orderDetailList: [
    { skuCode: '0000001', slotNum: '01', quantity: 2, originalPrice: '2.00', actualPrice: '1.67' },
    { skuCode: '0000001', slotNum: '01', quantity: 1, originalPrice: '2.00', actualPrice: '1.66' },
    { skuCode: '0000002', slotNum: '02', quantity: 1, originalPrice: '2.00', actualPrice: '2.00' },
  ],
};

const sku: Sku = {
  skuCode: '0000001',
  skuName: '可口可乐',
  skuUnit: '罐',
  skuSpec: '330ml',
  originalPrice: '2.50',
  purchasePrice: '1.20',
  skuPic: 'https://img.example.com/cola.png',
};

const layout = {
  machineCode: 'M001',
  containerCode: '01',
  machineStatus: 10,
  slotList: [
    {
      slotNum: '01',
      row: 1,
      col: 1,
      skuCode: '0000001',
      skuName: '可口可乐',
      skuDesc: '330ml 罐装',
      originalPrice: '2.50',
      actualPrice: '2.00',
      maxInventory: 10,
      currentInventory: 7,
      slotStatus: 0,
    },
    {
      slotNum: '2',
      row: 1,
      col: 2,
      skuCode: '0000002',
      skuName: '薯片',
      originalPrice: '3.00',
      actualPrice: '3.00',
      maxInventory: 8,
      currentInventory: 0,
      slotStatus: 1,
    },
  ],
};

/** The field path the first issue names, e.g. "payStatus". */
function failingField(result: { success: boolean; error?: Parameters<typeof describeZodError>[0] }) {
  expect(result.success).toBe(false);
  return result.error ? describeZodError(result.error).split(':')[0] : '';
}

describe('payload schemas', () => {
  it('a valid order notice parses to itself', () => {
    expect(orderNoticeSchema.parse(notice)).toEqual(notice);
  });

  it('unpaid, failed and refunded orders are valid notices (acknowledged, then reported 400)', () => {
    for (const payStatus of [0, 1, 2] as const)
      for (const refundStatus of [0, 1, 2, 3] as const)
        expect(orderNoticeSchema.safeParse({ ...notice, payStatus, refundStatus }).success).toBe(true);
    for (const payMethod of [1, 2, 3, 4, 5, 6] as const)
      expect(orderNoticeSchema.safeParse({ ...notice, payMethod }).success).toBe(true);
  });

  it('enums are read open: unknown payStatus, refundStatus and payMethod are kept as sent', () => {
    const odd = { ...notice, payStatus: 5, refundStatus: 4, payMethod: 7 };
    expect(orderNoticeSchema.parse(odd)).toEqual(odd);
    expect(unknownEnumFields(odd)).toEqual(['payStatus', 'refundStatus', 'payMethod']);
    expect(unknownEnumFields(notice)).toEqual([]);
  });

  it('payCompleteTime may be missing or null; containerCode may be missing, null or empty', () => {
    const { payCompleteTime: _, containerCode: __, ...bare } = notice;
    expect(orderNoticeSchema.parse(bare)).toEqual(bare);
    expect(orderNoticeSchema.parse({ ...notice, payCompleteTime: null }).payCompleteTime).toBeNull();
    for (const containerCode of [null, '', undefined]) {
      const parsed = orderNoticeSchema.parse({ ...notice, containerCode });
      expect(noticeContainer(parsed)).toBeUndefined();
    }
    expect(noticeContainer(notice)).toBe(notice.containerCode);
  });

  it('amounts are read tolerantly and come out as exact two-decimal wire money', () => {
    const parsed = orderNoticeSchema.parse({
      ...notice,
      actualAmount: '108',
      originAmount: 10.5,
      discountMoney: 2,
      orderDetailList: [{ ...notice.orderDetailList[0], originalPrice: '2.5', actualPrice: 0.1 }],
    });
    expect(parsed.actualAmount).toBe('108.00');
    expect(parsed.originAmount).toBe('10.50');
    expect(parsed.discountMoney).toBe('2.00');
    expect(parsed.orderDetailList[0]?.originalPrice).toBe('2.50');
    expect(parsed.orderDetailList[0]?.actualPrice).toBe('0.10');
    for (const bad of ['-1', -1, '1e3', 1e21, '2.505', 0.1 + 0.2, 'NaN', '1.', true])
      expect(failingField(orderNoticeSchema.safeParse({ ...notice, actualAmount: bad }))).toBe(
        'actualAmount',
      );
  });

  it('identifiers that cannot be stored in our keys are refused, naming the field', () => {
    for (const bad of ['M\uD800', '\uDC00M', 'M{1}', 'M}', 'M\u0000', 'M\n1'])
      expect(failingField(orderNoticeSchema.safeParse({ ...notice, machineCode: bad }))).toBe('machineCode');
    expect(
      failingField(orderNoticeSchema.safeParse({ ...notice, orderViewId: 'X\uDBFF', containerCode: 'A' })),
    ).toBe('orderViewId');
    const badSlot = { ...notice, orderDetailList: [{ ...notice.orderDetailList[0], slotNum: 'a\uDFFF' }] };
    expect(failingField(orderNoticeSchema.safeParse(badSlot))).toBe('orderDetailList.0.slotNum');
    // a well-formed pair (an emoji), Chinese and ':' are fine
    for (const good of ['M\uD83D\uDE00', '货柜:1', 'A-1_b.2'])
      expect(orderNoticeSchema.safeParse({ ...notice, machineCode: good }).success).toBe(true);
  });

  it('an order notice with a bad field is rejected, naming the field', () => {
    expect(failingField(orderNoticeSchema.safeParse({ ...notice, payStatus: '1' }))).toBe('payStatus');
    expect(failingField(orderNoticeSchema.safeParse({ ...notice, payMethod: 1.5 }))).toBe('payMethod');
    expect(failingField(orderNoticeSchema.safeParse({ ...notice, orderDetailList: [] }))).toBe(
      'orderDetailList',
    );
    expect(failingField(orderNoticeSchema.safeParse({ ...notice, actualAmount: '7.001' }))).toBe(
      'actualAmount',
    );
    expect(failingField(orderNoticeSchema.safeParse({ ...notice, orderTime: 1.5 }))).toBe('orderTime');
    const zeroQuantity = { ...notice, orderDetailList: [{ ...notice.orderDetailList[0], quantity: 0 }] };
    expect(failingField(orderNoticeSchema.safeParse(zeroQuantity))).toBe('orderDetailList.0.quantity');
  });

  it('a valid sku parses (Chinese unit 罐, purchasePrice optional); sku/sync needs at least one', () => {
    expect(skuSchema.parse(sku)).toEqual(sku);
    const { purchasePrice: _, ...noPurchase } = sku;
    expect(skuSchema.parse(noPurchase)).toEqual(noPurchase);
    expect(skuSyncSchema.parse({ skuList: [sku] })).toEqual({ skuList: [sku] });
    expect(failingField(skuSyncSchema.safeParse({ skuList: [] }))).toBe('skuList');
    expect(skuSchema.parse({ ...sku, originalPrice: 10.5 }).originalPrice).toBe('10.50');
    expect(failingField(skuOutSchema.safeParse({ ...sku, originalPrice: '2.5' }))).toBe('originalPrice');
    expect(failingField(skuSchema.safeParse({ ...sku, originalPrice: '2.555' }))).toBe('originalPrice');
    expect(failingField(skuSchema.safeParse({ ...sku, skuPic: 'not a url' }))).toBe('skuPic');
    expect(failingField(skuSchema.safeParse({ ...sku, skuUnit: '' }))).toBe('skuUnit');
  });

  it('a valid machine layout parses (containerCode optional, a faulty slot is still a slot)', () => {
    expect(machineLayoutSchema.parse(layout)).toEqual(layout);
    const { containerCode: _, ...noContainer } = layout;
    expect(machineLayoutSchema.parse(noContainer)).toEqual(noContainer);
    for (const machineStatus of [10, 20, 30])
      expect(machineLayoutSchema.safeParse({ ...layout, machineStatus }).success).toBe(true);
    expect(machineQuerySchema.parse({ machineCode: 'M001' })).toEqual({ machineCode: 'M001' });
  });

  it('a machine layout with a bad enum or field is rejected, naming the field', () => {
    expect(failingField(machineLayoutSchema.safeParse({ ...layout, machineStatus: 15 }))).toBe(
      'machineStatus',
    );
    const badSlot = (patch: Record<string, unknown>) => ({
      ...layout,
      slotList: [{ ...layout.slotList[0], ...patch }],
    });
    expect(failingField(machineLayoutSchema.safeParse(badSlot({ slotStatus: -1 })))).toBe(
      'slotList.0.slotStatus',
    );
    expect(failingField(machineLayoutSchema.safeParse(badSlot({ slotNum: 1 })))).toBe('slotList.0.slotNum');
    expect(failingField(machineLayoutSchema.safeParse(badSlot({ currentInventory: -1 })))).toBe(
      'slotList.0.currentInventory',
    );
    expect(machineLayoutSchema.parse(badSlot({ actualPrice: '2' })).slotList[0]?.actualPrice).toBe('2.00');
    expect(failingField(machineLayoutOutSchema.safeParse(badSlot({ actualPrice: '2' })))).toBe(
      'slotList.0.actualPrice',
    );
    expect(failingField(machineLayoutSchema.safeParse(badSlot({ actualPrice: '-2' })))).toBe(
      'slotList.0.actualPrice',
    );
  });

  it('a valid order result parses: final, partial, and while dispensing', () => {
    const result = {
      orderViewId: 'XBL0001',
      outStatus: 300,
      outDetailList: [
        { slotNum: '01', skuCode: '0000001', status: 200 },
        { slotNum: '01', skuCode: '0000001', status: 200 },
        { slotNum: '01', skuCode: '0000001', status: 400 },
        { slotNum: '02', skuCode: '0000002', status: 200 },
      ],
    };
    expect(orderResultSchema.parse(result)).toEqual(result);
    for (const outStatus of [100, 200, 300, 400])
      expect(orderResultSchema.safeParse({ ...result, outStatus }).success).toBe(true);
    const dispensing = {
      orderViewId: 'XBL0001',
      outStatus: 100,
      outDetailList: [
        { slotNum: '01', skuCode: '0000001', status: 200 },
        { slotNum: '01', skuCode: '0000001', status: 100 },
      ],
    };
    expect(orderResultSchema.parse(dispensing)).toEqual(dispensing);
    expect(orderQuerySchema.parse({ orderViewId: 'XBL0001' })).toEqual({ orderViewId: 'XBL0001' });
  });

  it('an order result with a bad enum is rejected, naming the field', () => {
    const result = {
      orderViewId: 'A',
      outStatus: 200,
      outDetailList: [{ slotNum: '1', skuCode: 'S', status: 200 }],
    };
    expect(failingField(orderResultSchema.safeParse({ ...result, outStatus: 250 }))).toBe('outStatus');
    // 300 is an order-level status only
    const unit300 = { ...result, outDetailList: [{ slotNum: '1', skuCode: 'S', status: 300 }] };
    expect(failingField(orderResultSchema.safeParse(unit300))).toBe('outDetailList.0.status');
  });

  it('our outgoing envelope matches the envelope schema', () => {
    const envelope = signEnvelope(notice, { appId: 'app1' }, ['t'], { now: 1526697000000, salt: 1234 });
    expect(envelopeSchema.parse(envelope)).toEqual(envelope);
    expect(envelopeSchema.safeParse({ ...envelope, data: notice }).success).toBe(false);
  });
});

describe('access token', () => {
  it('an absolute expireTime is kept; below 10^11 it is a lifetime from now', () => {
    const now = 1_700_000_000_000;
    const answer = accessTokenSchema.parse({ accessToken: 'x'.repeat(512), expireTime: 1452570728594 });
    expect(answer.accessToken).toHaveLength(512);
    expect(absoluteExpiry(answer, now)).toBe(1452570728594);
    expect(absoluteExpiry({ accessToken: 't', expireTime: 86_400_000 }, now)).toBe(now + 86_400_000);
    expect(absoluteExpiry({ accessToken: 't', expireTime: 99_999_999_999 }, now)).toBe(now + 99_999_999_999);
    expect(absoluteExpiry({ accessToken: 't', expireTime: 100_000_000_000 }, now)).toBe(100_000_000_000);
  });

  it('a token answer without a token or with a non-integer expireTime is rejected', () => {
    expect(failingField(accessTokenSchema.safeParse({ accessToken: '', expireTime: 1 }))).toBe('accessToken');
    expect(failingField(accessTokenSchema.safeParse({ accessToken: 't', expireTime: '1' }))).toBe(
      'expireTime',
    );
    expect(failingField(accessTokenSchema.safeParse({ accessToken: 't', expireTime: -1 }))).toBe(
      'expireTime',
    );
  });
});
