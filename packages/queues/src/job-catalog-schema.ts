import { z } from 'zod';
import { jobCatalog, PUBLIC_JOB_NAMES } from './catalog.js';

/** The file other systems generate clients from (checked in; a test fails when it is stale). */
export const JOB_CATALOG_SCHEMA_FILE = 'job-catalog.schema.json';

/** A payload's JSON Schema as other systems must send it: input form, unknown fields refused. */
export function jobPayloadJsonSchema(
  schema: z.ZodType,
  target: 'draft-2020-12' | 'openapi-3.0' = 'draft-2020-12',
) {
  return z.toJSONSchema(schema, {
    target,
    io: 'input',
    unrepresentable: 'any',
    override: (ctx) => {
      const json = ctx.jsonSchema as Record<string, unknown>;
      if (json.type === 'object' && json.properties && json.additionalProperties === undefined) {
        json.additionalProperties = false;
      }
    },
  });
}

/**
 * The public job catalog as one JSON Schema document: `$defs` holds one payload schema per
 * job other systems may enqueue, generated from the catalog's zod schemas.
 */
export function jobCatalogJsonSchema(): Record<string, unknown> {
  const defs = Object.fromEntries(
    PUBLIC_JOB_NAMES.map((name) => {
      const { $schema: _, ...schema } = jobPayloadJsonSchema(jobCatalog[name].schema) as Record<
        string,
        unknown
      >;
      return [
        name,
        { description: jobCatalog[name].description, 'x-queue': jobCatalog[name].queue, ...schema },
      ];
    }),
  );
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'urn:owitho-connector:job-catalog',
    title: 'owitho-connector public job catalog',
    description:
      'Payloads of the jobs other systems may enqueue: POST /admin/jobs/{name} with one of these as the body, ' +
      'or a BullMQ job of that name in the named queue. Generated from packages/queues/src/catalog.ts.',
    $defs: defs,
  };
}
