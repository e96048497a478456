import { z } from 'zod';

// Exactly two decimals, no sign, no exponent, no leading zeros: the only money form on the wire.
const MONEY_PATTERN = /^(0|[1-9]\d{0,12})\.\d{2}$/;

/** Money on the wire: a string with exactly two decimals ("2.50"). */
export const moneySchema = z.string().regex(MONEY_PATTERN, {
  message: 'money must be a non-negative amount with exactly two decimals, e.g. "2.50"',
});

export type Money = z.infer<typeof moneySchema>;

/** Whether a value is wire money already (a string with exactly two decimals, "2.50"). */
export function isWireMoney(value: unknown): value is Money {
  return typeof value === 'string' && MONEY_PATTERN.test(value);
}

/** The largest amount wire money can carry ("9999999999999.99"); every amount up to it is a safe integer. */
export const MAX_MONEY_CENTS = 999_999_999_999_999;

/** "10.50" → 1050. Throws a RangeError on anything that is not wire money. */
export function moneyToCents(money: string): number {
  if (!MONEY_PATTERN.test(money))
    throw new RangeError(`not a two-decimal money string: ${JSON.stringify(money)}`);
  const point = money.length - 3;
  return Number(money.slice(0, point)) * 100 + Number(money.slice(point + 1));
}

// What we read: digits, optionally a point and one or two decimals ("2", "2.5", "2.50", "02.50").
const READ_PATTERN = /^(\d+)(?:\.(\d{1,2}))?$/;

/**
 * Reads an amount owitho (or a system enqueuing a job) may legally send — a decimal string or a
 * JSON number with 0–2 decimals — as exact integer cents. The decimal TEXT is parsed (a number
 * is read through its shortest JS string form, String(10.5) = "10.5"); nothing is multiplied in
 * floating point. Returns the reason when the value is not an amount.
 */
export function readCents(value: unknown): { ok: true; cents: number } | { ok: false; reason: string } {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value))
      return { ok: false, reason: 'must be a finite amount (not NaN or Infinity)' };
    text = String(value);
  } else if (typeof value === 'string') {
    text = value;
  } else {
    return { ok: false, reason: 'must be an amount: a decimal string or a JSON number' };
  }
  if (/^[+-]?(nan|infinity)$/i.test(text.trim()))
    return { ok: false, reason: 'must be a finite amount (not NaN or Infinity)' };
  if (text.startsWith('-')) return { ok: false, reason: 'must not be negative' };
  if (/[eE]/.test(text))
    return { ok: false, reason: `exponent form is not an amount: ${JSON.stringify(text)}` };
  if (/^\d+\.\d{3,}$/.test(text))
    return { ok: false, reason: `more than two decimals: ${JSON.stringify(text)}` };
  const match = READ_PATTERN.exec(text);
  if (!match) return { ok: false, reason: `not a decimal amount: ${JSON.stringify(text)}` };
  const units = (match[1] as string).replace(/^0+(?=\d)/, '');
  const decimals = (match[2] ?? '').padEnd(2, '0');
  if (units.length > 13)
    return { ok: false, reason: `above the maximum amount ${centsToMoney(MAX_MONEY_CENTS)}` };
  return { ok: true, cents: Number(units) * 100 + Number(decimals) };
}

/**
 * Money as we READ it (owitho's calls into us, jobs others enqueue): "2", "2.5", "2.50", 2.5 or 2
 * are all accepted and come out as the canonical two-decimal string ("2.50"), so everything past
 * the edge — and everything we send on — is wire money. Negative, NaN/Infinity, exponent forms,
 * more than two decimals and amounts above the maximum are refused, the issue naming the field.
 */
export const moneyInSchema = z.union([z.string(), z.number()]).transform((value, ctx): Money => {
  // already wire money (the usual case): it reads back as itself
  if (typeof value === 'string' && MONEY_PATTERN.test(value)) return value;
  const read = readCents(value);
  if (read.ok) return centsToMoney(read.cents);
  ctx.issues.push({ code: 'custom', message: read.reason, input: value });
  return z.NEVER;
});

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
