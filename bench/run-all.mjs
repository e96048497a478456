// `pnpm bench [names…] [--save]`: runs every bench/*.bench.ts (or those whose names start with
// one of `names`) in its own process, each bounded in time, and prints their JSON lines (also
// appended to bench/results/runs/<name>.jsonl, which git ignores). With `--save` the lines of
// this run are appended to bench/results/committed/<name>.jsonl too: a run is committed only
// on purpose.
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const save = args.includes('--save');
const only = args.filter((a) => a !== '--save');
const committedDir = join(here, 'results', 'committed');
const saved = [];
const benches = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort();
const limitMs = Number(process.env.BENCH_TIME_LIMIT_MS ?? 300_000);
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
  const name = file.replace('.bench.ts', '');
  const results = join(here, 'results', 'runs', `${name}.jsonl`);
  const lines = existsSync(results) ? readFileSync(results, 'utf8').trim().split('\n').filter(Boolean) : [];
  const thisRun = lines.filter((l) => Date.parse(JSON.parse(l).at) >= started);
  if (save && run.status === 0 && thisRun.length > 0) {
    mkdirSync(committedDir, { recursive: true });
    appendFileSync(join(committedDir, `${name}.jsonl`), `${thisRun.join('\n')}\n`);
    saved.push(`bench/results/committed/${name}.jsonl`);
  }
  const line = thisRun.length > 0 ? JSON.parse(thisRun.at(-1)) : undefined;
  if (line) {
    summary.push(
      `#   ${line.bench}: ratio ${line.ratio}${line.target !== undefined ? ` (target ${line.target})` : ''}${line.summary ? `; ${line.summary}` : ''}`,
    );
  }
}
if (summary.length > 0)
  process.stdout.write(`\n# ratios against the same-run baselines\n${summary.join('\n')}\n`);
if (saved.length > 0) process.stdout.write(`\n# saved this run to ${saved.join(', ')}: commit them\n`);
else if (!save)
  process.stdout.write(
    '\n# run output in bench/results/runs/ (untracked); `pnpm bench --save` keeps a run\n',
  );
process.exit(failed > 0 ? 1 : 0);
