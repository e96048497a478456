import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Run output is untracked (gitignored); `pnpm bench --save` copies a chosen run's lines into
// bench/results/committed/, the only results that are committed.
const resultsDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'results', 'runs');

/** Prints one JSON line and appends it to bench/results/runs/<bench>.jsonl (untracked). */
export function report(bench: string, figures: Record<string, unknown>): void {
  const line = JSON.stringify({ bench, at: new Date().toISOString(), ...figures });
  mkdirSync(resultsDir, { recursive: true });
  appendFileSync(join(resultsDir, `${bench}.jsonl`), `${line}\n`);
  process.stdout.write(`${line}\n`);
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export function rssMb(): number {
  return round(process.memoryUsage().rss / 1024 / 1024, 1);
}
