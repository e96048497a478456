import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type OpenOptions, openEnvelope, signData, signEnvelope } from './envelope.js';
import { type OrderNotice, orderNoticeSchema } from './payloads.js';
import { businessSignature } from './signature.js';

const NOW = 1_700_000_000_000;
const TOKEN = 'current-token';
const options: OpenOptions = { appId: 'app1', tokens: [TOKEN], now: NOW, toleranceMs: 300_000 };
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
    { skuCode: 'COLA', slotNum: '01', quantity: 2, originalPrice: '2.00', actualPrice: '1.67' },
    { skuCode: 'COLA', slotNum: '01', quantity: 1, originalPrice: '2.00', actualPrice: '1.66' },
  ],
};

/** A correctly signed envelope (salt 4321, utc NOW) with some fields then overridden. */
function signed(overrides: Record<string, unknown> = {}, payload: unknown = notice, tokens = [TOKEN]) {
  return { ...signEnvelope(payload, creds, tokens, { now: NOW, salt: 4321 }), ...overrides };
}

function open(body: unknown, opts: OpenOptions = options) {
  return openEnvelope(body, opts, orderNoticeSchema);
}

function codeOf(body: unknown, opts: OpenOptions = options) {
  const result = open(body, opts);
  return result.ok ? 200 : result.code;
}

function msgOf(body: unknown, opts: OpenOptions = options) {
  const result = open(body, opts);
  return result.ok ? '' : result.msg;
}

describe('signEnvelope / signData', () => {
  it('data is the payload as compact JSON; one signature per token, current first', () => {
    const envelope = signEnvelope(notice, creds, ['new', 'old'], { now: NOW, salt: 4321 });
    expect(envelope.data).toBe(JSON.stringify(notice));
    expect(envelope.data).not.toMatch(/\n|": |, "/);
    expect(envelope).toMatchObject({ appId: 'app1', salt: 4321, utc: NOW });
    expect(envelope.signatures).toHaveLength(2);
    expect(envelope.signatures[0]).toBe(
      signEnvelope(notice, creds, ['new'], { now: NOW, salt: 4321 }).signatures[0],
    );
    expect(envelope.signatures[1]).toBe(
      signEnvelope(notice, creds, ['old'], { now: NOW, salt: 4321 }).signatures[0],
    );
  });

  it('an envelope signed under both tokens during the overlap passes a receiver that honours either one', () => {
    const envelope = signEnvelope(notice, creds, ['new', 'old'], { now: NOW, salt: 4321 });
    expect(codeOf(envelope, { ...options, tokens: ['new'] })).toBe(200);
    expect(codeOf(envelope, { ...options, tokens: ['old'] })).toBe(200);
    expect(codeOf(envelope, { ...options, tokens: ['newer'] })).toBe(40002);
  });

  it('defaults: a fresh salt in 1000–9999 and utc = now', () => {
    const before = Date.now();
    const envelope = signEnvelope(notice, creds, [TOKEN]);
    expect(envelope.salt).toBeGreaterThanOrEqual(1000);
    expect(envelope.salt).toBeLessThanOrEqual(9999);
    expect(envelope.utc).toBeGreaterThanOrEqual(before);
    expect(envelope.utc).toBeLessThanOrEqual(Date.now());
  });

  it('refuses to sign without a token or without a JSON payload', () => {
    expect(() => signData('{}', creds, [])).toThrow(/at least one access token/);
    expect(() => signEnvelope(undefined, creds, [TOKEN])).toThrow(TypeError);
    expect(() => signEnvelope(() => 1, creds, [TOKEN])).toThrow(TypeError);
  });
});

describe('openEnvelope: checks and codes', () => {
  it('accepts a well-signed envelope and returns the parsed payload and the data string', () => {
    const body = signed();
    expect(open(body)).toEqual({ ok: true, payload: notice, data: body.data });
  });

  it('foreign appId → 40001', () => {
    expect(codeOf(signed({ appId: 'someone-else' }))).toBe(40001);
    expect(msgOf(signed({ appId: 'someone-else' }))).toBe('appid does not exist');
  });

  it.each([999, 10000, '12a4', 12.5, '999', '10000', -1234, ' 1234'])('salt %j → 40003', (salt) => {
    expect(codeOf(signed({ salt }))).toBe(40003);
  });

  it('salt 1000 and 9999 are in range', () => {
    const at = (salt: number) => signEnvelope(notice, creds, [TOKEN], { now: NOW, salt });
    expect(codeOf(at(1000))).toBe(200);
    expect(codeOf(at(9999))).toBe(200);
  });

  it('a salt given as a digit string is read as the number it spells; the signature covers it as it travelled', () => {
    expect(codeOf(signed({ salt: '4321' }))).toBe(200);
    const data = JSON.stringify(notice);
    const asTravelled = businessSignature({
      appId: 'app1',
      accessToken: TOKEN,
      data,
      salt: '04321',
      utc: NOW,
    });
    const body = { appId: 'app1', salt: '04321', utc: NOW, signatures: [asTravelled], data };
    expect(codeOf(body)).toBe(200);
    const overTheNumber = businessSignature({
      appId: 'app1',
      accessToken: TOKEN,
      data,
      salt: 4321,
      utc: NOW,
    });
    expect(codeOf({ ...body, signatures: [overTheNumber] })).toBe(40002);
  });

  it('utc 301 s old or 301 s ahead → 40004; 299 s and exactly 300 s are fine', () => {
    const at = (utc: number) => signData(JSON.stringify(notice), creds, [TOKEN], { now: utc, salt: 1234 });
    expect(codeOf(at(NOW - 301_000))).toBe(40004);
    expect(codeOf(at(NOW + 301_000))).toBe(40004);
    expect(codeOf(at(NOW - 299_000))).toBe(200);
    expect(codeOf(at(NOW + 299_000))).toBe(200);
    expect(codeOf(at(NOW - 300_000))).toBe(200);
    expect(codeOf(at(NOW + 300_000))).toBe(200);
  });

  it('the utc tolerance is the caller’s setting (UTC_TOLERANCE_MS)', () => {
    const body = signData(JSON.stringify(notice), creds, [TOKEN], { now: NOW - 2_000, salt: 1234 });
    expect(codeOf(body, { ...options, toleranceMs: 1_000 })).toBe(40004);
    expect(codeOf(body, { ...options, toleranceMs: 2_000 })).toBe(200);
    const old = signData(JSON.stringify(notice), creds, [TOKEN], { now: NOW - 600_000, salt: 1234 });
    expect(codeOf(old)).toBe(40004);
    expect(codeOf(old, { ...options, toleranceMs: 600_000 })).toBe(200);
  });

  it('a utc given as a digit string is read as the number it spells', () => {
    expect(codeOf(signed({ utc: String(NOW) }))).toBe(200);
  });

  it('every signature wrong → 40002', () => {
    expect(codeOf(signed({ signatures: ['0'.repeat(32), 'f'.repeat(32)] }))).toBe(40002);
    expect(codeOf(signed({}, notice, ['some-other-token']))).toBe(40002);
    expect(msgOf(signed({}, notice, ['some-other-token']))).toBe('signature verification failed');
    // the signature covers data, salt and utc exactly
    expect(codeOf(signed({ data: signed().data.replace('XBL0001', 'XBL0002') }))).toBe(40002);
    expect(codeOf(signed({ salt: 4322 }))).toBe(40002);
    expect(codeOf(signed({ utc: NOW + 1 }))).toBe(40002);
  });

  it('one of two signatures right → accepted', () => {
    const good = signed().signatures[0] as string;
    expect(codeOf(signed({ signatures: ['0'.repeat(32), good] }))).toBe(200);
    expect(codeOf(signed({ signatures: [good, '0'.repeat(32)] }))).toBe(200);
    expect(codeOf(signed({ signatures: [good.toUpperCase()] }))).toBe(200);
  });

  it('a signature under the previous token is accepted while that token is honoured, not after', () => {
    const body = signed({}, notice, ['previous-token']);
    expect(codeOf(body, { ...options, tokens: [TOKEN, 'previous-token'] })).toBe(200);
    expect(codeOf(body, { ...options, tokens: [TOKEN] })).toBe(40002);
  });

  it('`signature` as a string (or an array) is read like `signatures`', () => {
    const { signatures, ...rest } = signed();
    expect(codeOf({ ...rest, signature: signatures[0] })).toBe(200);
    expect(codeOf({ ...rest, signature: signatures })).toBe(200);
    expect(codeOf({ ...rest, signatures: [], signature: signatures[0] })).toBe(200);
    expect(codeOf({ ...rest, signatures: signatures[0] })).toBe(200);
    expect(codeOf({ ...rest, signature: 'f'.repeat(32) })).toBe(40002);
  });

  it('no signature at all → 40000 naming signatures', () => {
    const { signatures: _, ...rest } = signed();
    expect(codeOf(rest)).toBe(40000);
    expect(msgOf(rest)).toMatch(/signatures/);
    expect(codeOf({ ...rest, signatures: [] })).toBe(40000);
  });

  it('missing data, data not JSON, a payload field of the wrong type → 40000 naming the field', () => {
    const { data: _, ...noData } = signed();
    expect(codeOf(noData)).toBe(40000);
    expect(msgOf(noData)).toMatch(/^request failed: data/);

    const notJson = signData('{not json', creds, [TOKEN], { now: NOW });
    expect(open(notJson)).toEqual({ ok: false, code: 40000, msg: 'request failed: data is not JSON' });

    const badQuantity = {
      ...notice,
      orderDetailList: [notice.orderDetailList[0], { ...notice.orderDetailList[1], quantity: 'three' }],
    };
    expect(codeOf(signed({}, badQuantity))).toBe(40000);
    expect(msgOf(signed({}, badQuantity))).toContain('orderDetailList');
    expect(msgOf(signed({}, badQuantity))).toContain('quantity');
    expect(msgOf(signed({}, badQuantity))).toMatch(/^request failed: data\.orderDetailList\.1\.quantity: /);

    expect(msgOf(signed({}, { ...notice, actualAmount: '5.001' }))).toMatch(/data\.actualAmount/);
    const { machineCode: __, ...noMachine } = notice;
    expect(msgOf(signed({}, noMachine))).toMatch(/data\.machineCode/);
    expect(msgOf(signed({}, { ...notice, payStatus: 'paid' }))).toMatch(/data\.payStatus/);
  });

  it('envelope fields of the wrong type → 40000 naming the field', () => {
    expect(msgOf(signed({ appId: 7 }))).toMatch(/appId/);
    expect(msgOf(signed({ data: { machineCode: 'M001' } }))).toMatch(/data/);
    expect(msgOf(signed({ utc: 'yesterday' }))).toMatch(/utc/);
    expect(msgOf(signed({ signatures: [1, 2] }))).toMatch(/signatures/);
    for (const body of [signed({ appId: 7 }), signed({ utc: 'yesterday' }), signed({ data: 1 })])
      expect(codeOf(body)).toBe(40000);
  });

  it('a foreign appId with a bad salt → 40001: the appId is checked first', () => {
    expect(codeOf(signed({ appId: 'someone-else', salt: 999 }))).toBe(40001);
  });

  it('runs the checks in order: appId before salt before utc before signature before payload', () => {
    expect(codeOf(signed({ appId: 'x', salt: 1, utc: 0, signatures: ['bad'] }, { nonsense: true }))).toBe(
      40001,
    );
    expect(codeOf(signed({ salt: 1, utc: 0, signatures: ['bad'] }, { nonsense: true }))).toBe(40003);
    expect(codeOf(signed({ utc: 0, signatures: ['bad'] }, { nonsense: true }))).toBe(40004);
    expect(codeOf(signed({ signatures: ['bad'] }, { nonsense: true }))).toBe(40002);
    expect(codeOf(signed({ data: 'not json', signatures: ['bad'] }))).toBe(40002);
    expect(codeOf(signed({}, { nonsense: true }))).toBe(40000);
    // a malformed envelope is 40000 before anything else
    const { data: _, ...noData } = signed({ appId: 'x', salt: 1 });
    expect(codeOf(noData)).toBe(40000);
  });

  it('bodies that are not envelopes → 40000', () => {
    for (const body of [null, undefined, 1, true, 'x', '{', '[]', [], {}, { appId: 1 }, '{"appId":"app1"}'])
      expect(codeOf(body)).toBe(40000);
  });

  it('a raw JSON string body is parsed', () => {
    expect(codeOf(JSON.stringify(signed()))).toBe(200);
  });

  it('failure messages never carry the token or a signature', () => {
    const body = signed();
    const good = body.signatures[0] as string;
    const nearMiss = `${good.slice(0, 31)}${good.endsWith('0') ? '1' : '0'}`;
    const failures = [
      signed({ appId: 'x' }),
      signed({ salt: 1 }),
      signed({ utc: 0 }),
      signed({ signatures: [nearMiss] }),
      signed({}, { nonsense: true }),
      signed({ signatures: [7] }),
    ];
    for (const failure of failures) {
      const msg = msgOf(failure);
      expect(msg).not.toBe('');
      expect(msg).not.toContain(TOKEN);
      expect(msg).not.toContain(good.slice(0, 16));
    }
  });

  it('a schema of any shape can be used', () => {
    expect(openEnvelope(signed({}, { n: 1 }), options, z.object({ n: z.number() }))).toMatchObject({
      ok: true,
      payload: { n: 1 },
    });
    expect(openEnvelope(signed({}, [1, 'a']), options, z.unknown())).toMatchObject({
      ok: true,
      payload: [1, 'a'],
    });
  });
});
