import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { JOB_CATALOG_SCHEMA_FILE, jobCatalogJsonSchema } from '../src/job-catalog-schema.js';

// pnpm --filter @owc/queues schema: regenerates the checked-in JSON Schema of the public catalog
const path = fileURLToPath(new URL(`../${JOB_CATALOG_SCHEMA_FILE}`, import.meta.url));
writeFileSync(path, `${JSON.stringify(jobCatalogJsonSchema(), null, 2)}\n`);
execFileSync('pnpm', ['exec', 'biome', 'format', '--write', path], { stdio: 'ignore' });
process.stdout.write(`wrote ${path}\n`);
