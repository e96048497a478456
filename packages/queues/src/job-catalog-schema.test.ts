import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { JOB_CATALOG_SCHEMA_FILE, jobCatalogJsonSchema } from './job-catalog-schema.js';

describe(JOB_CATALOG_SCHEMA_FILE, () => {
  test('matches the catalog (regenerate with `pnpm --filter @owc/queues schema`)', () => {
    const checkedIn = JSON.parse(
      readFileSync(new URL(`../${JOB_CATALOG_SCHEMA_FILE}`, import.meta.url), 'utf8'),
    );
    expect(checkedIn).toEqual(jobCatalogJsonSchema());
  });

  test('holds every public job and no internal one; objects refuse unknown fields', () => {
    const schema = jobCatalogJsonSchema() as { $defs: Record<string, { additionalProperties?: boolean }> };
    expect(Object.keys(schema.$defs)).toEqual(['sku.upsert', 'machine.restocked', 'machine.layout']);
    expect(schema.$defs['machine.restocked']).toMatchObject({
      type: 'object',
      required: ['machineCode'],
      additionalProperties: false,
    });
  });
});
