import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeZodError } from './zod-error.js';

describe('describeZodError', () => {
  it('names the field, under an optional root', () => {
    const r = z.object({ a: z.object({ b: z.int() }) }).safeParse({ a: { b: 'x' } });
    expect(!r.success && describeZodError(r.error, 'data')).toMatch(/^data\.a\.b: /);
  });

  it('for a union that matched no branch, names the field of the branch that got furthest', () => {
    const schema = z.union([
      z.object({ skus: z.array(z.object({ skuName: z.string() })) }),
      z.object({ sku: z.object({ skuName: z.string() }) }),
    ]);
    const one = schema.safeParse({ sku: { skuName: 1 } });
    expect(!one.success && describeZodError(one.error)).toMatch(/^sku\.skuName: /);
    const many = schema.safeParse({ skus: [{ skuName: 'ok' }, {}] });
    expect(!many.success && describeZodError(many.error)).toMatch(/^skus\.1\.skuName: /);
    const nested = z.object({ job: schema }).safeParse({ job: { sku: {} } });
    expect(!nested.success && describeZodError(nested.error)).toMatch(/^job\.sku\.skuName: /);
  });
});
