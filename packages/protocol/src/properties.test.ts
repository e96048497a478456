import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { readAnswer } from './answer.js';
import { incomingSchema, type OpenOptions, openEnvelope, plainShape, signEnvelope } from './envelope.js';
import { centsToMoney, MAX_MONEY_CENTS, moneySchema, moneyToCents, splitCents } from './money.js';
import { orderNoticeSchema } from './payloads.js';
import { plainOrderNotice } from './plain-order-notice.js';
import { flattenOrder } from './units.js';

const NOW = 1_700_000_000_000;
const CODES = [40000, 40001, 40002, 40003, 40004];
const receiver: OpenOptions = { appId: 'a', tokens: ['t'], now: NOW, toleranceMs: 300_000 };

/** What a JSON round trip makes of a value (-0 → 0). */
const viaJson = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

describe('properties: envelopes', () => {
  it('signEnvelope then openEnvelope round-trips any payload', () => {
    fc.assert(
      fc.property(
        fc.jsonValue(),
        fc.string({ minLength: 1, unit: 'grapheme' }),
        fc.array(fc.string({ minLength: 1, unit: 'grapheme' }), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 1000, max: 9999 }),
        fc.integer({ min: -300_000, max: 300_000 }),
        (value, appId, tokens, salt, skew) => {
          const payload = { value };
          const envelope = signEnvelope(payload, { appId }, tokens, { now: NOW + skew, salt });
          // over the wire, and honouring only the last token the sender signed with
          const honoured = tokens.slice(-1);
          for (const body of [envelope, JSON.stringify(envelope), viaJson(envelope)]) {
            const opened = openEnvelope(
              body,
              { appId, tokens: honoured, now: NOW, toleranceMs: 300_000 },
              z.unknown(),
            );
            expect(opened).toEqual({ ok: true, payload: viaJson(payload), data: envelope.data });
          }
          const asRecord = openEnvelope(
            envelope,
            { appId, tokens: honoured, now: NOW, toleranceMs: 300_000 },
            z.record(z.string(), z.unknown()),
          );
          expect(asRecord.ok).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('round-trips any dictionary of JSON values', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (payload) => {
        const opened = openEnvelope(
          signEnvelope(payload, { appId: 'a' }, ['t'], { now: NOW }),
          receiver,
          z.unknown(),
        );
        expect(opened).toMatchObject({ ok: true, payload: viaJson(payload) });
      }),
      { numRuns: 300 },
    );
  });

  it('any change to data, salt or utc after signing → 40002', () => {
    fc.assert(
      fc.property(
        fc.jsonValue(),
        fc.string({ minLength: 1 }),
        fc.integer({ min: 1000, max: 9998 }),
        fc.integer({ min: 1, max: 1000 }),
        (value, extra, salt, shift) => {
          const envelope = signEnvelope({ value }, { appId: 'a' }, ['t'], { now: NOW, salt });
          const tampered = [
            { ...envelope, data: envelope.data + extra },
            { ...envelope, salt: salt + 1 },
            { ...envelope, utc: NOW - shift },
          ];
          for (const body of tampered)
            expect(openEnvelope(body, receiver, z.unknown())).toMatchObject({ code: 40002 });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('openEnvelope never throws, whatever the body', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          fc.anything(),
          fc.string(),
          fc.string({ unit: 'binary' }),
          fc.json(),
          fc.object(),
        ),
        (body) => {
          const result = openEnvelope(body, receiver, orderNoticeSchema);
          expect(result.ok).toBe(false);
          if (!result.ok) {
            expect(CODES).toContain(result.code);
            expect(typeof result.msg).toBe('string');
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('openEnvelope never throws on envelopes with arbitrary field values', () => {
    const good = signEnvelope({ n: 1 }, { appId: 'a' }, ['t'], { now: NOW, salt: 1234 });
    fc.assert(
      fc.property(
        fc.record(
          {
            appId: fc.oneof(fc.constant('a'), fc.anything()),
            salt: fc.oneof(fc.constant(1234), fc.constant('1234'), fc.anything()),
            utc: fc.oneof(fc.constant(NOW), fc.anything()),
            signatures: fc.oneof(fc.constant(good.signatures), fc.anything()),
            signature: fc.anything(),
            data: fc.oneof(fc.constant(good.data), fc.string(), fc.json(), fc.anything()),
          },
          { requiredKeys: [] },
        ),
        (body) => {
          let result: ReturnType<typeof openEnvelope> | undefined;
          expect(() => {
            result = openEnvelope(body, receiver, z.object({ n: z.number() }));
          }).not.toThrow();
          if (result && !result.ok) expect(CODES).toContain(result.code);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('readAnswer never throws and reads only protocol answers', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.json(), fc.string()), (body) => {
        const answer = readAnswer(body);
        if (answer !== undefined) {
          expect(Number.isInteger(answer.code)).toBe(true);
          expect(typeof answer.msg).toBe('string');
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('properties: money and units', () => {
  it('cents → money string → cents is the identity', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_MONEY_CENTS }), (cents) => {
        const money = centsToMoney(cents);
        expect(money).toMatch(/^(0|[1-9]\d*)\.\d{2}$/);
        expect(moneySchema.safeParse(money).success).toBe(true);
        expect(moneyToCents(money)).toBe(cents);
      }),
      { numRuns: 2000 },
    );
  });

  it('money string → cents → money string is the identity, and anything else is refused', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^(0|[1-9]\d{0,12})\.\d{2}$/), (money) => {
        expect(centsToMoney(moneyToCents(money))).toBe(money);
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(fc.string(), (text) => {
        const accepted = moneySchema.safeParse(text).success;
        if (accepted) expect(centsToMoney(moneyToCents(text))).toBe(text);
        else expect(() => moneyToCents(text)).toThrow(RangeError);
      }),
      { numRuns: 1000 },
    );
  });

  it('splitCents: n shares, summing exactly, largest first, at most one cent apart', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: MAX_MONEY_CENTS }),
        fc.integer({ min: 1, max: 200 }),
        (total, parts) => {
          const shares = splitCents(total, parts);
          expect(shares).toHaveLength(parts);
          expect(shares.reduce((a, b) => a + b, 0)).toBe(total);
          for (let i = 1; i < shares.length; i++) {
            expect(shares[i]).toBeLessThanOrEqual(shares[i - 1] as number);
          }
          expect(Math.max(...shares) - Math.min(...shares)).toBeLessThanOrEqual(1);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('flattenOrder: one unit per quantity, indexes 0..n-1 in list order, vendIds unique', () => {
    const line = fc.record({
      skuCode: fc.constantFrom('COLA', 'CHIPS', 'WATER'),
      slotNum: fc.constantFrom('01', '02', '03'),
      quantity: fc.integer({ min: 1, max: 20 }),
      originalPrice: fc.constant('2.00'),
      actualPrice: fc.constantFrom('1.66', '1.67', '2.00'),
    });
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.array(line, { minLength: 1, maxLength: 10 }),
        (id, lines) => {
          const units = flattenOrder({ orderViewId: id, orderDetailList: lines });
          expect(units).toHaveLength(lines.reduce((n, l) => n + l.quantity, 0));
          expect(units.map((u) => u.index)).toEqual(units.map((_, i) => i));
          expect(units.map((u) => u.vendId)).toEqual(units.map((_, i) => `${id}-${i}`));
          expect(new Set(units.map((u) => u.vendId)).size).toBe(units.length);
          expect(units.map((u) => u.skuCode)).toEqual(
            lines.flatMap((l) => Array(l.quantity).fill(l.skuCode)),
          );
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('properties: the envelope shape without zod', () => {
  const field = fc.oneof(
    fc.jsonValue(),
    fc.string(),
    fc.integer(),
    fc.double(),
    fc.stringMatching(/^-?\d{1,16}$/),
    fc.array(fc.string(), { maxLength: 3 }),
    fc.constant(undefined),
  );
  it('plainShape takes only what incomingSchema accepts unchanged', () => {
    fc.assert(
      fc.property(
        fc.record(
          { appId: field, salt: field, utc: field, signatures: field, signature: field, data: field },
          { requiredKeys: [] },
        ),
        (raw) => {
          if (!plainShape(raw)) return;
          const parsed = incomingSchema.safeParse(raw);
          expect(parsed.success).toBe(true);
          // zod drops undefined optional keys; plainShape's caller reads the same values
          for (const key of ['appId', 'salt', 'utc', 'signatures', 'signature', 'data'] as const)
            expect(parsed.data?.[key]).toEqual(raw[key]);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('the usual envelope takes the plain path', () => {
    const envelope = signEnvelope({ a: 1 }, { appId: 'a' }, ['t'], { now: NOW });
    expect(plainShape(envelope)).toBe(true);
    expect(plainShape({ ...envelope, signatures: undefined, signature: 'abc' })).toBe(true);
    expect(plainShape({ ...envelope, utc: String(envelope.utc) })).toBe(true);
    expect(plainShape({ ...envelope, utc: 1.5 })).toBe(false);
    expect(plainShape({ ...envelope, signature: '' })).toBe(false);
    expect(plainShape({ ...envelope, signatures: null })).toBe(false);
  });
});

describe('properties: the order notice read without zod', () => {
  // each field mostly in the plain form, else in forms the schema changes or refuses
  const plainId = (max: number) =>
    fc.string({ minLength: 1, maxLength: max, unit: fc.constantFrom(...'AZaz09 :-_.|~'.split('')) });
  const id = (max: number) =>
    fc.oneof(
      { weight: 12, arbitrary: plainId(max) },
      fc.string({ minLength: 1, maxLength: 12 }),
      fc.constantFrom('', 'a{b', 'a}b', 'x\u0007', 'é', '\ud800', '😀', 'x'.repeat(max), 'x'.repeat(max + 1)),
      fc.integer(),
    );
  const money = fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom('0.00', '2.50', '10.00', '9999999999999.99') },
    fc.constantFrom('2', '2.5', '02.50', '-1.00', '1e2', '', ' 2.50', '99999999999999.99'),
    fc.double(),
    fc.integer({ min: -5, max: 100_000 }),
  );
  const int = fc.oneof(
    { weight: 12, arbitrary: fc.nat() },
    fc.integer({ min: -3, max: 5 }),
    fc.constantFrom(2 ** 53, 2 ** 53 - 1, -0, 1.5, '1', null),
  );
  const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
  /** sometimes a field missing */
  const mostlyWhole = <T extends object>(fields: { [K in keyof T]: fc.Arbitrary<T[K]> }) =>
    fc.oneof(
      { weight: 12, arbitrary: fc.record(fields) },
      { weight: 1, arbitrary: fc.record(fields, { requiredKeys: [] }) },
    );
  const line = mostlyWhole({
    skuCode: id(128),
    slotNum: id(32),
    quantity: int,
    originalPrice: money,
    actualPrice: money,
    extra: optional(fc.string()),
  });
  const notice = mostlyWhole({
    orderViewId: id(128),
    machineCode: id(128),
    containerCode: optional(fc.oneof(id(128), fc.constantFrom('', null))),
    discountMoney: money,
    originAmount: money,
    actualAmount: money,
    payStatus: int,
    refundStatus: int,
    orderTime: int,
    payCompleteTime: optional(fc.oneof(int, fc.constant(null))),
    payMethod: int,
    orderDetailList: fc.oneof({ weight: 12, arbitrary: fc.array(line, { maxLength: 3 }) }, fc.constant('x')),
    unknownField: optional(fc.string()),
  });

  it('takes only what orderNoticeSchema accepts, and reads it exactly as the schema does', () => {
    let plain = 0;
    fc.assert(
      fc.property(notice, (raw) => {
        // what JSON.parse would hand over: no undefined values
        const value = viaJson(raw);
        const read = plainOrderNotice(value);
        if (read === undefined) return;
        plain++;
        const parsed = orderNoticeSchema.safeParse(value);
        expect(parsed.success).toBe(true);
        // the same values, keys in the same order (the stored notice's JSON)
        expect(JSON.stringify(read)).toBe(JSON.stringify(parsed.data));
      }),
      { numRuns: 5000 },
    );
    // not a vacuous pass: a good share took the plain path
    expect(plain).toBeGreaterThan(50);
  });

  it('reads the usual notice, with or without its optional fields', () => {
    const usual = {
      orderViewId: 'XBL00000000000252',
      machineCode: 'M001',
      containerCode: '01',
      discountMoney: '0.00',
      originAmount: '3.00',
      actualAmount: '3.00',
      payStatus: 1,
      refundStatus: 0,
      orderTime: NOW,
      payCompleteTime: NOW,
      payMethod: 2,
      orderDetailList: [
        { skuCode: 'COLA', slotNum: '1', quantity: 2, originalPrice: '1.50', actualPrice: '1.50' },
      ],
    };
    const { containerCode: _c, payCompleteTime: _p, ...bare } = usual;
    for (const form of [
      usual,
      bare,
      { ...usual, containerCode: '', payCompleteTime: null },
      { ...usual, more: 1 },
    ])
      expect(JSON.stringify(plainOrderNotice(form))).toBe(JSON.stringify(orderNoticeSchema.parse(form)));
    // an odd form is left to the schema, which still accepts it
    const odd = { ...usual, actualAmount: 3 };
    expect(plainOrderNotice(odd)).toBeUndefined();
    expect(orderNoticeSchema.parse(odd).actualAmount).toBe('3.00');
  });
});
