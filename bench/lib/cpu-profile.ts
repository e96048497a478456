// Summarises a V8 .cpuprofile (from `node --cpu-prof`): where the samples went, by package/file and
// by function (self time), and the inclusive time of a few functions of interest.
// Usage: node --import tsx bench/lib/cpu-profile.ts [--skip-ms=N] [--last-ms=N] <file.cpuprofile> [top=25] [inclusive-name...]
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const args = process.argv.slice(2);
const skipArg = args.find((a) => a.startsWith('--skip-ms='));
/** samples in the first N ms of the profile (start-up, module loading, warm-up) are left out */
const skipMs = skipArg ? Number(skipArg.slice('--skip-ms='.length)) : 0;
const lastArg = args.find((a) => a.startsWith('--last-ms='));
/** only the samples of the last N ms (e.g. an idle window at the end of a run) */
const lastMs = lastArg ? Number(lastArg.slice('--last-ms='.length)) : undefined;
const [file, topArg, ...inclusiveNames] = args.filter((a) => !a.startsWith('--'));
if (!file) {
  process.stderr.write('usage: cpu-profile.ts <file.cpuprofile> [top] [function names for inclusive time]\n');
  process.exit(2);
}
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

// self time per node from the samples and their time deltas
let clock = 0;
const at: number[] = profile.samples.map((_, i) => {
  clock += profile.timeDeltas[i] ?? 0;
  return clock;
});
const kept: boolean[] = at.map(
  (t) => t >= skipMs * 1000 && (lastMs === undefined || t >= clock - lastMs * 1000),
);
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => {
  if (kept[i]) selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
// percentages are of the busy time: samples of the (idle) node are left out
const idleIds = new Set(profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
const allUs = [...selfUs.values()].reduce((a, b) => a + b, 0);
const totalUs = [...selfUs].filter(([id]) => !idleIds.has(id)).reduce((a, [, us]) => a + us, 0);

function where(url: string): string {
  if (!url) return '(native/vm)';
  const pnpm = /node_modules\/\.pnpm\/[^/]+\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pnpm) return `dep:${pnpm[1]}`;
  const ours = /\/((?:apps|packages)\/[^/]+)\/src\/(.*)$/.exec(url);
  if (ours) return `${ours[1]}/${ours[2]}`;
  if (url.startsWith('node:')) return url;
  return url.replace(/^file:\/\//, '');
}

function pct(us: number): string {
  return `${((100 * us) / totalUs).toFixed(1)}%`;
}

const byWhere = new Map<string, number>();
const byFunction = new Map<string, number>();
for (const [id, us] of selfUs) {
  const node = byId.get(id);
  if (!node || idleIds.has(id)) continue;
  const w = where(node.callFrame.url);
  byWhere.set(w, (byWhere.get(w) ?? 0) + us);
  const fn = `${node.callFrame.functionName || '(anonymous)'}  ${w}:${node.callFrame.lineNumber + 1}`;
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
}

const lines: string[] = [];
lines.push(
  `profile ${file}: ${(allUs / 1000).toFixed(0)} ms sampled, ${(totalUs / 1000).toFixed(0)} ms busy (percentages are of busy time)`,
);
lines.push('\nself time by package / file:');
for (const [w, us] of [...byWhere].sort((a, b) => b[1] - a[1]).slice(0, top))
  lines.push(`  ${pct(us).padStart(6)}  ${w}`);
lines.push('\nself time by function:');
for (const [f, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top))
  lines.push(`  ${pct(us).padStart(6)}  ${f}`);

// inclusive time: a sample counts for a function when it appears anywhere on the sample's stack
if (inclusiveNames.length > 0) {
  lines.push('\ninclusive time:');
  const inclusive = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    if (!kept[i] || idleIds.has(id)) return;
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const name = byId.get(cur)?.callFrame.functionName ?? '';
      for (const wanted of inclusiveNames) {
        if (name === wanted && !seen.has(wanted)) {
          seen.add(wanted);
          inclusive.set(wanted, (inclusive.get(wanted) ?? 0) + (profile.timeDeltas[i] ?? 0));
        }
      }
    }
  });
  for (const name of inclusiveNames) lines.push(`  ${pct(inclusive.get(name) ?? 0).padStart(6)}  ${name}`);
}
// each busy sample charged to the innermost frame of our own code on its stack (with everything it
// called: zod, ioredis, crypto...), or to the leaf's package when none of our code is on the stack
const ownedBy = new Map<string, number>();
profile.samples.forEach((id, i) => {
  if (!kept[i] || idleIds.has(id)) return;
  let owner: string | undefined;
  for (let cur: number | undefined = id; cur !== undefined && !owner; cur = parent.get(cur)) {
    const frame = byId.get(cur)?.callFrame;
    if (frame && !frame.url.includes('/node_modules/') && /\/(apps|packages)\/[^/]+\/src\//.test(frame.url)) {
      owner = `${frame.functionName || '(anonymous)'}  ${where(frame.url)}:${frame.lineNumber + 1}`;
    }
  }
  const leaf = byId.get(id)?.callFrame;
  const key =
    owner ??
    `(no code of ours) ${leaf?.functionName === '(garbage collector)' ? '(garbage collector)' : where(leaf?.url ?? '')}`;
  ownedBy.set(key, (ownedBy.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
lines.push('\nbusy time by the innermost function of ours on the stack (inclusive of what it calls):');
for (const [f, us] of [...ownedBy].sort((a, b) => b[1] - a[1]).slice(0, top))
  lines.push(`  ${pct(us).padStart(6)}  ${f}`);
process.stdout.write(`${lines.join('\n')}\n`);
