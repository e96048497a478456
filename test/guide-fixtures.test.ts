import { readdirSync, readFileSync } from 'node:fs';
import {
  accessTokenSchema,
  machineLayoutOutSchema,
  machineLayoutSchema,
  machineQuerySchema,
  okAnswer,
  orderNoticeSchema,
  orderQuerySchema,
  orderResultSchema,
  skuSyncOutSchema,
  skuSyncSchema,
} from '@owc/protocol';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';

// Every JSON sample of owitho's open-platform guide (v0.1.5), one fixture file each, with the OCR
// repairs it needed written in the file (`repairs`). The guide is the judge here, not our schemas.
interface Fixture {
  source: string;
  direction: string;
  repairs: string[];
  notes?: string;
  sample: unknown;
  expected?: unknown;
}

const dir = new URL('./fixtures/guide/', import.meta.url);
const fixture = (name: string): Fixture => JSON.parse(readFileSync(new URL(name, dir), 'utf8')) as Fixture;

/** The shape of a JSON value: its keys (recursively) and the JSON type of every leaf. */
function shapeOf(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shapeOf);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]) => [k, shapeOf(v)]),
    );
  return typeof value;
}

describe("the guide's own samples", () => {
  it('every fixture names its source in the guide and lists its repairs', () => {
    const names = readdirSync(dir).filter((n) => n.endsWith('.json'));
    expect(names.length).toBe(10);
    for (const name of names) {
      const f = fixture(name);
      expect(f.source).toMatch(/^the owitho open-platform guide v0\.1\.5, /);
      expect(Array.isArray(f.repairs)).toBe(true);
      expect(f.sample).toBeDefined();
    }
  });

  const requests: [string, z.ZodType][] = [
    ['order-notice.request.json', orderNoticeSchema],
    ['machine-query.request.json', machineQuerySchema],
    ['order-query.request.json', orderQuerySchema],
    ['sku-sync.request.json', skuSyncSchema],
    ['machine-sync.request.json', machineLayoutSchema],
    ['sku-sync.envelope-data.json', skuSyncSchema],
  ];
  it.each(requests)('%s parses with our schema and keeps its values', (name, schema) => {
    const f = fixture(name);
    const parsed = schema.safeParse(f.sample);
    expect(parsed.error).toBeUndefined();
    expect(parsed.data).toEqual(f.expected ?? f.sample);
  });

  it('what we send (sku/sync, machine/sync) passes our strict schemas unchanged', () => {
    const skus = fixture('sku-sync.request.json').sample;
    expect(skuSyncOutSchema.parse(skus)).toEqual(skus);
    // the guide's number prices, once read, are sent as two-decimal strings
    const read = skuSyncSchema.parse(fixture('sku-sync.envelope-data.json').sample);
    expect(skuSyncOutSchema.parse(read)).toEqual(fixture('sku-sync.envelope-data.json').expected);
    const layout = fixture('machine-sync.request.json').sample;
    expect(machineLayoutOutSchema.parse(layout)).toEqual(layout);
  });

  it('our machine/query answer has the shape of the guide sample (code as an int)', () => {
    const guide = fixture('machine-query.answer.json').sample as { code: string; data: unknown };
    const ours = okAnswer(machineLayoutOutSchema.parse(guide.data));
    expect(shapeOf(ours)).toEqual({ ...(shapeOf(guide) as object), code: 'number' });
    expect(ours.data).toEqual(guide.data);
  });

  it('our order/query answer has the shape of the guide sample (code as an int)', () => {
    const guide = fixture('order-query.answer.json').sample as { code: string; msg: string; data: unknown };
    const ours = okAnswer(orderResultSchema.parse(guide.data));
    expect(shapeOf(ours)).toEqual({ ...(shapeOf(guide) as object), code: 'number' });
    expect(ours.data).toEqual(guide.data);
  });

  it('our order/notice answer is {code,msg} like the guide (its empty data left out)', () => {
    const guide = fixture('order-notice.answer.json').sample as Record<string, unknown>;
    const ours = okAnswer();
    expect(Object.keys(ours).sort()).toEqual(
      Object.keys(guide)
        .filter((k) => k !== 'data')
        .sort(),
    );
    expect(ours.msg).toBe(guide.msg);
  });

  it("the token answer's data parses with our schema", () => {
    const guide = fixture('access-token.answer.json').sample as { data: unknown };
    expect(accessTokenSchema.parse(guide.data)).toEqual(guide.data);
  });
});
