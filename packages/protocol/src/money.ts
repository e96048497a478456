import { z } from 'zod';

// Exactly two decimals, no sign, no exponent, no leading zeros: the only money form on the wire.
const MONEY_PATTERN = /^(0|[1-9]\d{0,12})\.\d{2}$/;

/** Money on the wire: a string with exactly two decimals ("2.50"). */
export const moneySchema = z.string().regex(MONEY_PATTERN, {
  message: 'money must be a non-negative amount with exactly two decimals, e.g. "2.50"',
});

export type Money = z.infer<typeof moneySchema>;

/** The largest amount wire money can carry ("9999999999999.99"); every amount up to it is a safe integer. */
export const MAX_MONEY_CENTS = 999_999_999_999_999;

/** "10.50" → 1050. Throws a RangeError on anything that is not wire money. */
export function moneyToCents(money: string): number {
  if (!MONEY_PATTERN.test(money))
    throw new RangeError(`not a two-decimal money string: ${JSON.stringify(money)}`);
  const [units, decimals] = money.split('.') as [string, string];
  return Number(units) * 100 + Number(decimals);
}

/** 1050 → "10.50". Only integers in 0..MAX_MONEY_CENTS are money (so the string always reads back). */
export function centsToMoney(cents: number): Money {
  if (!Number.isSafeInteger(cents) || cents < 0 || cents > MAX_MONEY_CENTS)
    throw new RangeError(`cents must be an integer in 0..${MAX_MONEY_CENTS}: ${cents}`);
  const units = Math.floor(cents / 100);
  const rest = cents % 100;
  return `${units}.${rest.toString().padStart(2, '0')}`;
}

/**
 * Splits `totalCents` into `parts` integer shares that differ by at most one cent and sum
 * exactly to the total; the larger shares come first (5.00 over 3 → 167, 167, 166).
 */
export function splitCents(totalCents: number, parts: number): number[] {
  if (!Number.isSafeInteger(totalCents) || totalCents < 0)
    throw new RangeError('totalCents must be a non-negative integer');
  if (!Number.isSafeInteger(parts) || parts < 1) throw new RangeError('parts must be a positive integer');
  const base = Math.floor(totalCents / parts);
  const remainder = totalCents - base * parts;
  return Array.from({ length: parts }, (_, i) => base + (i < remainder ? 1 : 0));
}
