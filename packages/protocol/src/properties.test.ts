import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { openEnvelope, signEnvelope } from './envelope.js';
import { centsToMoney, moneyToCents } from './money.js';

const any = z.unknown();
const NOW = 1_700_000_000_000;

describe('properties', () => {
  it('signEnvelope then openEnvelope round-trips any payload', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), fc.jsonValue()),
        fc.string({ minLength: 1 }),
        fc.array(fc.string({ minLength: 1 }), { minLength: 1, maxLength: 3 }),
        (payload, appId, tokens) => {
          const envelope = signEnvelope(payload, { appId }, tokens, { now: NOW });
          const opened = openEnvelope(
            JSON.parse(JSON.stringify(envelope)),
            { appId, tokens: [tokens[tokens.length - 1] as string], now: NOW, toleranceMs: 1000 },
            any,
          );
          expect(opened.ok).toBe(true);
          if (opened.ok) expect(opened.payload).toEqual(JSON.parse(JSON.stringify(payload)));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('openEnvelope never throws, whatever the body', () => {
    const options = { appId: 'a', tokens: ['t'], now: NOW, toleranceMs: 1000 };
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.anything(), fc.string(), fc.object()), (body) => {
        const result = openEnvelope(body, options, any);
        expect([true, false]).toContain(result.ok);
        if (!result.ok) expect([40000, 40001, 40002, 40003, 40004]).toContain(result.code);
      }),
      { numRuns: 1000 },
    );
  });

  it('openEnvelope never throws on envelopes with arbitrary field values', () => {
    const options = { appId: 'a', tokens: ['t'], now: NOW, toleranceMs: 1000 };
    fc.assert(
      fc.property(
        fc.record({
          appId: fc.oneof(fc.constant('a'), fc.anything()),
          salt: fc.anything(),
          utc: fc.oneof(fc.constant(NOW), fc.anything()),
          signatures: fc.anything(),
          data: fc.oneof(fc.string(), fc.anything()),
        }),
        (body) => {
          expect(() => openEnvelope(body, options, any)).not.toThrow();
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('cents → money string → cents is the identity', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 ** 14 }), (cents) => {
        const money = centsToMoney(cents);
        expect(money).toMatch(/^\d+\.\d{2}$/);
        expect(moneyToCents(money)).toBe(cents);
      }),
      { numRuns: 2000 },
    );
  });
});
