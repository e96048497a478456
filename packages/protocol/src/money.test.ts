import { describe, expect, it } from 'vitest';
import {
  centsToMoney,
  MAX_MONEY_CENTS,
  moneyInSchema,
  moneySchema,
  moneyToCents,
  readCents,
  splitCents,
} from './money.js';

describe('the tolerant money reader', () => {
  it.each([
    ['2', 200],
    ['2.5', 250],
    ['2.50', 250],
    [2.5, 250],
    [2, 200],
    ['108', 10800],
    [10.5, 1050],
    [0.1, 10],
    [0.29, 29],
    [1.15, 115],
    [4.35, 435],
    ['0', 0],
    [0, 0],
    ['02.50', 250],
    ['9999999999999.99', MAX_MONEY_CENTS],
    [9999999.99, 999999999],
  ])('reads %j as %i cents, by its text', (value, cents) => {
    expect(readCents(value)).toEqual({ ok: true, cents });
    expect(moneyInSchema.parse(value)).toBe(centsToMoney(cents));
  });

  it.each([
    ['-1', 'negative'],
    [-2.5, 'negative'],
    ['-0.00', 'negative'],
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'NaN'],
    ['NaN', 'NaN'],
    ['Infinity', 'NaN'],
    ['1e3', 'exponent'],
    [1e21, 'exponent'],
    [1e-7, 'exponent'],
    ['2.505', 'more than two decimals'],
    [0.1 + 0.2, 'more than two decimals'],
    ['10000000000000.00', 'maximum'],
    ['1.', 'not a decimal'],
    ['.5', 'not a decimal'],
    [' 1', 'not a decimal'],
    ['+1', 'not a decimal'],
    ['1,00', 'not a decimal'],
    ['', 'not a decimal'],
    [null, 'decimal string or a JSON number'],
    [true, 'decimal string or a JSON number'],
  ])('refuses %j (%s)', (value, why) => {
    const read = readCents(value);
    expect(read.ok).toBe(false);
    if (!read.ok) expect(read.reason).toContain(why);
    expect(moneyInSchema.safeParse(value).success).toBe(false);
  });
});

describe('money', () => {
  it('"10.50" ↔ 1050', () => {
    expect(moneyToCents('10.50')).toBe(1050);
    expect(moneyToCents('2.00')).toBe(200);
    expect(moneyToCents('0.01')).toBe(1);
    expect(moneyToCents('0.00')).toBe(0);
    expect(moneyToCents('9999999999999.99')).toBe(MAX_MONEY_CENTS);
    expect(centsToMoney(1050)).toBe('10.50');
    expect(centsToMoney(200)).toBe('2.00');
    expect(centsToMoney(7)).toBe('0.07');
    expect(centsToMoney(0)).toBe('0.00');
    expect(centsToMoney(MAX_MONEY_CENTS)).toBe('9999999999999.99');
  });

  it.each([
    '10.5',
    '1e3',
    '-1.00',
    '10.555',
    '01.00',
    ' 1.00',
    '1.00 ',
    '+1.00',
    '',
    '1',
    '1.',
    '.50',
    '1,00',
    '１.00',
    'NaN',
    'Infinity',
    '0x10.00',
    '10000000000000.00',
  ])('rejects %j', (bad) => {
    expect(() => moneyToCents(bad)).toThrow(RangeError);
    expect(moneySchema.safeParse(bad).success).toBe(false);
  });

  it('the schema accepts exactly what moneyToCents reads', () => {
    for (const good of ['0.00', '0.07', '2.50', '12.00', '100.99']) {
      expect(moneySchema.safeParse(good).success).toBe(true);
      expect(centsToMoney(moneyToCents(good))).toBe(good);
    }
  });

  it('refuses cents that are not money', () => {
    for (const bad of [
      1.5,
      -1,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      MAX_MONEY_CENTS + 1,
      Number.MAX_SAFE_INTEGER,
    ])
      expect(() => centsToMoney(bad)).toThrow(RangeError);
  });

  it('the coupon split: 3 × 2.00 with 1.00 off → 1.67, 1.67, 1.66, summing exactly to 5.00', () => {
    const total = 3 * moneyToCents('2.00') - moneyToCents('1.00');
    expect(total).toBe(500);
    const shares = splitCents(total, 3);
    expect(shares).toEqual([167, 167, 166]);
    expect(shares.map(centsToMoney)).toEqual(['1.67', '1.67', '1.66']);
    const sum = shares.reduce((a, b) => a + b, 0);
    expect(sum).toBe(total);
    expect(centsToMoney(sum)).toBe('5.00');
  });

  it('splitCents: even splits, fewer cents than parts, one part', () => {
    expect(splitCents(600, 3)).toEqual([200, 200, 200]);
    expect(splitCents(2, 3)).toEqual([1, 1, 0]);
    expect(splitCents(0, 2)).toEqual([0, 0]);
    expect(splitCents(499, 1)).toEqual([499]);
  });

  it('splitCents refuses what cannot be split', () => {
    expect(() => splitCents(-1, 2)).toThrow(RangeError);
    expect(() => splitCents(1.5, 2)).toThrow(RangeError);
    expect(() => splitCents(100, 0)).toThrow(RangeError);
    expect(() => splitCents(100, 1.5)).toThrow(RangeError);
  });
});
