import { writeFileSync } from 'node:fs';
import { JOB_CATALOG_SCHEMA_FILE, jobCatalogJsonSchema } from '../src/job-catalog-schema.js';

// pnpm --filter @owc/queues schema: regenerates the checked-in JSON Schema of the public catalog
const path = new URL(`../${JOB_CATALOG_SCHEMA_FILE}`, import.meta.url);
writeFileSync(path, `${JSON.stringify(jobCatalogJsonSchema(), null, 2)}\n`);
process.stdout.write(`wrote ${path.pathname}\n`);
