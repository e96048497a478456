import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { openEnvelope, signData, signEnvelope } from './envelope.js';
import { type OrderNotice, orderNoticeSchema } from './payloads.js';

const NOW = 1_700_000_000_000;
const options = { appId: 'app1', tokens: ['current-token'], now: NOW, toleranceMs: 300_000 };
const creds = { appId: 'app1' };

const notice: OrderNotice = {
  orderViewId: 'XBL0001',
  machineCode: 'M001',
  containerCode: '01',
  discountMoney: '1.00',
  originAmount: '6.00',
  actualAmount: '5.00',
  payStatus: 1,
  refundStatus: 0,
  orderTime: NOW - 5000,
  payCompleteTime: NOW - 1000,
  payMethod: 2,
  orderDetailList: [
    { skuCode: 'COLA', slotNum: '01', quantity: 3, originalPrice: '2.00', actualPrice: '1.67' },
  ],
};

function signed(
  overrides: Record<string, unknown> = {},
  payload: unknown = notice,
  tokens = ['current-token'],
) {
  return { ...signEnvelope(payload, creds, tokens, { now: NOW, salt: 4321 }), ...overrides };
}

function codeOf(body: unknown, opts = options) {
  const result = openEnvelope(body, opts, orderNoticeSchema);
  return result.ok ? 200 : result.code;
}

describe('openEnvelope: checks and codes', () => {
  it('accepts a well-signed envelope and returns the parsed payload', () => {
    const result = openEnvelope(signed(), options, orderNoticeSchema);
    expect(result).toMatchObject({ ok: true, payload: notice });
  });

  it('data is compact JSON', () => {
    expect(signed().data).toBe(JSON.stringify(notice));
    expect(signed().data).not.toMatch(/\n|": /);
  });

  it('foreign appId → 40001', () => {
    expect(codeOf(signed({ appId: 'someone-else' }))).toBe(40001);
  });

  it.each([999, 10000, '12a4', 12.5])('salt %j → 40003', (salt) => {
    expect(codeOf(signed({ salt }))).toBe(40003);
  });

  it('a salt given as a digit string is read as the number it spells', () => {
    const envelope = signEnvelope(notice, creds, ['current-token'], { now: NOW, salt: 4321 });
    expect(codeOf({ ...envelope, salt: '4321' })).toBe(200);
  });

  it('utc 301 s old or 301 s ahead → 40004; 299 s is fine', () => {
    const at = (utc: number) =>
      signData(JSON.stringify(notice), creds, ['current-token'], { now: utc, salt: 1234 });
    expect(codeOf(at(NOW - 301_000))).toBe(40004);
    expect(codeOf(at(NOW + 301_000))).toBe(40004);
    expect(codeOf(at(NOW - 299_000))).toBe(200);
  });

  it('every signature wrong → 40002', () => {
    expect(codeOf(signed({ signatures: ['0'.repeat(32), 'f'.repeat(32)] }))).toBe(40002);
    expect(codeOf(signed({}, notice, ['some-other-token']))).toBe(40002);
  });

  it('one of two signatures right → accepted', () => {
    const good = signed().signatures[0] as string;
    expect(codeOf(signed({ signatures: ['0'.repeat(32), good] }))).toBe(200);
    expect(codeOf(signed({ signatures: [good.toUpperCase()] }))).toBe(200);
  });

  it('a signature under the previous token is accepted while that token is honoured, not after', () => {
    const body = signed({}, notice, ['previous-token']);
    expect(codeOf(body, { ...options, tokens: ['current-token', 'previous-token'] })).toBe(200);
    expect(codeOf(body, { ...options, tokens: ['current-token'] })).toBe(40002);
  });

  it('`signature` as a string (or an array) is read like `signatures`', () => {
    const { signatures, ...rest } = signed();
    expect(codeOf({ ...rest, signature: signatures[0] })).toBe(200);
    expect(codeOf({ ...rest, signature: signatures })).toBe(200);
    expect(codeOf(rest)).toBe(40000);
  });

  it('missing data, data not JSON, a payload field of the wrong type → 40000 naming the field', () => {
    const { data, ...noData } = signed();
    const missing = openEnvelope(noData, options, orderNoticeSchema);
    expect(missing).toMatchObject({ ok: false, code: 40000 });
    expect(!missing.ok && missing.msg).toMatch(/data/);
    const notJson = openEnvelope(
      signData('{not json', creds, ['current-token'], { now: NOW }),
      options,
      orderNoticeSchema,
    );
    expect(notJson).toMatchObject({ ok: false, code: 40000, msg: 'request failed: data is not JSON' });
    const badQuantity = { ...notice, orderDetailList: [{ ...notice.orderDetailList[0], quantity: 'three' }] };
    const wrongType = openEnvelope(signed({}, badQuantity), options, orderNoticeSchema);
    expect(wrongType).toMatchObject({ ok: false, code: 40000 });
    expect(!wrongType.ok && wrongType.msg).toMatch(/data\.orderDetailList\.0\.quantity/);
    const badMoney = openEnvelope(signed({}, { ...notice, actualAmount: '5.0' }), options, orderNoticeSchema);
    expect(!badMoney.ok && badMoney.msg).toMatch(/data\.actualAmount/);
  });

  it('runs the checks in order: appId before salt before utc before signature before payload', () => {
    expect(codeOf(signed({ appId: 'x', salt: 1, utc: 0, signatures: ['bad'] }))).toBe(40001);
    expect(codeOf(signed({ salt: 1, utc: 0, signatures: ['bad'] }))).toBe(40003);
    expect(codeOf(signed({ utc: 0, signatures: ['bad'] }))).toBe(40004);
    expect(codeOf(signed({ signatures: ['bad'] }, { nonsense: true }))).toBe(40002);
    expect(codeOf(signed({}, { nonsense: true }))).toBe(40000);
  });

  it('bodies that are not envelopes → 40000', () => {
    for (const body of [null, 1, 'x', '{', [], {}, { appId: 1 }, '{"appId":"app1"}'])
      expect(codeOf(body)).toBe(40000);
  });

  it('a raw JSON string body is parsed', () => {
    expect(codeOf(JSON.stringify(signed()))).toBe(200);
  });

  it('a schema of any shape can be used', () => {
    const r = openEnvelope(signed({}, { n: 1 }), options, z.object({ n: z.number() }));
    expect(r).toMatchObject({ ok: true, payload: { n: 1 } });
  });
});
