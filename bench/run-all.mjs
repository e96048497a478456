// `pnpm bench`: runs every bench/*.bench.ts in its own process, each bounded in time, and
// prints their JSON lines (also appended to bench/results/<name>.jsonl).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const benches = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort();
const limitMs = Number(process.env.BENCH_TIME_LIMIT_MS ?? 120_000);
let failed = 0;
const summary = [];
for (const file of benches) {
  process.stdout.write(`\n# ${file}\n`);
  const started = Date.now();
  const run = spawnSync(process.execPath, ['--conditions=@owc/source', '--import', 'tsx', join(here, file)], {
    stdio: 'inherit',
    timeout: limitMs,
    env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (run.status !== 0) {
    failed++;
    process.stdout.write(`# ${file} failed (${run.signal ?? `exit ${run.status}`}) after ${seconds} s\n`);
  } else {
    process.stdout.write(`# ${file} done in ${seconds} s\n`);
  }
  // the line this run appended: its ratio against the same-run baseline, for the summary
  const results = join(here, 'results', `${file.replace('.bench.ts', '')}.jsonl`);
  const last = existsSync(results) ? readFileSync(results, 'utf8').trim().split('\n').at(-1) : undefined;
  const line = last ? JSON.parse(last) : undefined;
  if (line && Date.parse(line.at) >= started) {
    summary.push(
      `#   ${line.bench}: ratio ${line.ratio}${line.target !== undefined ? ` (target ${line.target})` : ''}`,
    );
  }
}
if (summary.length > 0)
  process.stdout.write(`\n# ratios against the same-run baselines\n${summary.join('\n')}\n`);
process.exit(failed > 0 ? 1 : 0);
