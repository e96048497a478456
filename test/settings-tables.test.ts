import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ingressSettingsSchema } from '@owc/ingress';
import { machineSimSettingsSchema } from '@owc/machine-sim';
import { owithoSimSettingsSchema } from '@owc/owitho-sim';
import { workerSettingsSchema } from '@owc/worker';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';

// The README's settings tables are the single source of every setting (docs/settings.md); this
// reads them, and the tables of the app READMEs and docs that repeat some, against the zod
// schemas each app parses process.env with: every variable of a schema has a row, every row
// names a variable of a schema, and the default written is the one the schema applies.

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const SCHEMAS = {
  ingress: ingressSettingsSchema,
  worker: workerSettingsSchema,
  'owitho-sim': owithoSimSettingsSchema,
  'machine-sim': machineSimSettingsSchema,
} satisfies Record<string, z.ZodObject>;
type App = keyof typeof SCHEMAS;
const APPS = Object.keys(SCHEMAS) as App[];
const SIMULATORS: App[] = ['owitho-sim', 'machine-sim'];

/** What a schema does with an unset variable: its default (as the tables write it), or required / unset. */
function schemaDefault(app: App, name: string): string | undefined {
  const field = (SCHEMAS[app].shape as Record<string, z.ZodType>)[name];
  if (!field) return undefined;
  const parsed = field.safeParse(undefined);
  if (!parsed.success) return 'required';
  if (parsed.data === undefined) return 'unset';
  return Array.isArray(parsed.data) ? parsed.data.join(',') : String(parsed.data);
}

const DURATION_MS: Record<string, number> = { s: 1000, min: 60_000, h: 3_600_000, day: 86_400_000 };

/** One default as a table writes it: `literal`, a bare number, a duration, required, unset or —. */
function readDefault(token: string): string {
  const text = token.trim();
  const literal = /^`([^`]*)`$/.exec(text);
  if (literal) return literal[1] ?? '';
  if (text === 'required') return 'required';
  if (text === 'unset' || text === '—') return 'unset';
  if (/^\d+(\.\d+)?$/.test(text)) return text;
  const duration = /^(\d+) (s|min|h|days?)$/.exec(text);
  if (duration?.[2])
    return String(Number(duration[1]) * (DURATION_MS[duration[2].replace(/s$/, '')] ?? Number.NaN));
  throw new Error(`cannot read the default "${text}"`);
}

interface Row {
  file: string;
  line: number;
  /** the apps whose schemas the row speaks for */
  scope: App[];
  names: string[];
  /** per name: one default for every app, or one per app (`32` (ingress), `1000` (worker)) */
  defaults: Map<string, string | Partial<Record<App, string>>>;
}

/** The defaults cell of a row, spread over its names. */
function readDefaults(names: string[], cell: string): Row['defaults'] {
  const defaults: Row['defaults'] = new Map();
  const perApp = [...cell.matchAll(/`([^`]*)` \(([a-z-]+)\)/g)];
  if (perApp.length > 0 && perApp.every((m) => APPS.includes(m[2] as App))) {
    const byApp = Object.fromEntries(perApp.map((m) => [m[2], m[1] ?? ''])) as Partial<Record<App, string>>;
    for (const name of names) defaults.set(name, byApp);
    return defaults;
  }
  // a note in parentheses is for the reader: `0` (`pnpm start`: `0.2`), unset (no viewer)
  const values = cell
    .replace(/\([^)]*\)/g, '')
    .split(' / ')
    .map(readDefault);
  if (values.length !== 1 && values.length !== names.length)
    throw new Error(`${names.join(' / ')}: ${values.length} defaults for ${names.length} names`);
  names.forEach((name, i) => {
    defaults.set(name, values.length === 1 ? (values[0] ?? '') : (values[i] ?? ''));
  });
  return defaults;
}

const cells = (line: string) =>
  line
    .trim()
    .replace(/^\||\|$/g, '')
    .split('|')
    .map((c) => c.trim());

/**
 * Every row of every table with a `default` column in `file`; `scopeOf` gives the apps a row
 * speaks for from the heading it stands under.
 */
function settingsRows(file: string, scopeOf: (heading: string) => App[]): Row[] {
  const lines = readFileSync(resolve(root, file), 'utf8').split('\n');
  const rows: Row[] = [];
  let heading = '';
  let columns: { name: number; default: number } | undefined;
  lines.forEach((line, i) => {
    if (/^#{1,6} /.test(line)) heading = line.replace(/^#+ /, '');
    if (!line.startsWith('|')) {
      columns = undefined;
      return;
    }
    const row = cells(line);
    if (!columns) {
      const at = row.findIndex((c) => c.toLowerCase() === 'default');
      columns = at >= 0 ? { name: 0, default: at } : { name: -1, default: -1 };
      return;
    }
    if (columns.default < 0 || /^-+$/.test(row[0] ?? '')) return;
    const names = [...(row[columns.name] ?? '').matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1] ?? '');
    if (names.length === 0) return;
    rows.push({
      file,
      line: i + 1,
      scope: scopeOf(heading),
      names,
      defaults: readDefaults(names, row[columns.default] ?? ''),
    });
  });
  return rows;
}

function readmeScope(heading: string): App[] {
  if (heading.startsWith('Shared')) return ['ingress', 'worker'];
  if (heading === 'Ingress') return ['ingress'];
  if (heading === 'Worker') return ['worker'];
  if (heading === 'Simulators') return SIMULATORS;
  throw new Error(`README settings table under an unknown heading: ${heading}`);
}

const README = settingsRows('README.md', readmeScope);
const ALL_ROWS = [
  ...README,
  ...settingsRows('apps/ingress/README.md', () => ['ingress']),
  ...settingsRows('apps/owitho-sim/README.md', () => ['owitho-sim']),
  ...settingsRows('apps/machine-sim/README.md', () => ['machine-sim']),
  ...settingsRows('docs/sync.md', () => ['worker']),
];

/** What is wrong with a row: names no schema in its scope has, defaults that differ. */
function rowProblems(row: Row): string[] {
  const problems: string[] = [];
  for (const name of row.names) {
    const apps = row.scope.filter((app) => schemaDefault(app, name) !== undefined);
    if (apps.length === 0) problems.push(`${name}: no setting of ${row.scope.join(' or ')}`);
    // a shared row speaks for every app in its scope
    else if (
      row.scope.length > 1 &&
      !SIMULATORS.includes(row.scope[0] as App) &&
      apps.length < row.scope.length
    )
      problems.push(`${name}: shared, but only ${apps.join(', ')} has it`);
    for (const app of apps) {
      const written = row.defaults.get(name);
      const want = typeof written === 'string' ? written : written?.[app];
      const has = schemaDefault(app, name);
      if (want !== has)
        problems.push(`${name} (${app}): the table says ${want ?? 'nothing'}, the schema ${has}`);
    }
  }
  return problems.map((p) => `${row.file}:${row.line} ${p}`);
}

describe('the settings tables against the settings schemas', () => {
  it('reads the tables: every heading of the README has rows, every row a default', () => {
    for (const scope of [['ingress', 'worker'], ['ingress'], ['worker'], SIMULATORS])
      expect(README.some((row) => row.scope.join() === scope.join())).toBe(true);
    expect(ALL_ROWS.length).toBeGreaterThan(README.length);
    for (const row of ALL_ROWS) expect(row.defaults.size).toBe(row.names.length);
  });

  it('every variable of every app schema has a row in the README', () => {
    const listed = new Set(README.flatMap((row) => row.names));
    const missing = APPS.flatMap((app) =>
      Object.keys(SCHEMAS[app].shape)
        .filter((name) => !listed.has(name))
        .map((name) => `${name} (${app})`),
    );
    expect(missing).toEqual([]);
  });

  it('every row names a variable of its apps, with the default the schema applies', () => {
    expect(ALL_ROWS.flatMap(rowProblems)).toEqual([]);
  });

  it('finds a wrong default, a name no schema has, and a shared row only one app has', () => {
    const row = (names: string[], defaults: Row['defaults'], scope: App[] = ['worker']): Row => ({
      file: 'README.md',
      line: 1,
      scope,
      names,
      defaults,
    });
    expect(rowProblems(row(['CALLBACK_JITTER'], new Map([['CALLBACK_JITTER', '0.3']])))).toEqual([
      'README.md:1 CALLBACK_JITTER (worker): the table says 0.3, the schema 0.2',
    ]);
    expect(rowProblems(row(['CALLBACK_JITTERS'], new Map([['CALLBACK_JITTERS', '0.2']])))).toEqual([
      'README.md:1 CALLBACK_JITTERS: no setting of worker',
    ]);
    expect(
      rowProblems(row(['CALLBACK_JITTER'], new Map([['CALLBACK_JITTER', '0.2']]), ['ingress', 'worker'])),
    ).toEqual(['README.md:1 CALLBACK_JITTER: shared, but only worker has it']);
    expect(readDefaults(['A', 'B'], '`0.0.0.0` / `3000`')).toEqual(
      new Map([
        ['A', '0.0.0.0'],
        ['B', '3000'],
      ]),
    );
    expect(readDefaults(['A'], '30 days')).toEqual(new Map([['A', '2592000000']]));
    expect(readDefaults(['A'], '`0` (`pnpm start`: `0.2`)')).toEqual(new Map([['A', '0']]));
    expect(() => readDefaults(['A', 'B', 'C'], '`1` / `2`')).toThrow(/2 defaults for 3 names/);
  });
});
