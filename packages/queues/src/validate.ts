import { describeZodError } from '@owc/protocol';
import type { z } from 'zod';
import { isJobName, type JobName, type JobPayload, jobCatalog } from './catalog.js';
import { InvalidJobError } from './errors/invalid-job-error.js';

/** Validates a payload against the catalog; throws InvalidJobError naming the field. */
export function parseJobPayload<N extends JobName>(name: N, data: unknown): JobPayload<N>;
export function parseJobPayload(name: string, data: unknown): JobPayload<JobName>;
export function parseJobPayload(name: string, data: unknown): JobPayload<JobName> {
  if (!isJobName(name)) throw new InvalidJobError(name, `unknown job name "${name}"`);
  const result = jobCatalog[name].schema.safeParse(data);
  if (!result.success) throw new InvalidJobError(name, describeZodError(result.error));
  return result.data as JobPayload<JobName>;
}

/** One thing wrong with a payload: the field (dotted path, '' for the whole body) and why. */
export interface PayloadProblem {
  field: string;
  message: string;
}

type Issue = z.core.$ZodIssue;

/** Every issue, a union's issues taken from the branch that got furthest (it says best what is wrong). */
function flatten(issues: readonly Issue[], base: PropertyKey[] = []): PayloadProblem[] {
  const problems: PayloadProblem[] = [];
  for (const issue of issues) {
    const path = [...base, ...issue.path];
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const depth = (branch: readonly Issue[]) => Math.max(...branch.map((i) => i.path.length), 0);
      const best = [...issue.errors].sort((a, b) => depth(b) - depth(a) || a.length - b.length)[0] ?? [];
      problems.push(...flatten(best, path));
      continue;
    }
    problems.push({ field: path.map(String).join('.'), message: issue.message });
  }
  return problems;
}

/** Keys present in the input and absent from what the schema kept (zod strips unknown keys). */
function unknownFields(input: unknown, kept: unknown, path: string[] = []): PayloadProblem[] {
  if (Array.isArray(input) && Array.isArray(kept)) {
    return input.flatMap((item, i) => unknownFields(item, kept[i], [...path, String(i)]));
  }
  if (!isPlainObject(input) || !isPlainObject(kept)) return [];
  return Object.keys(input).flatMap((key) =>
    Object.hasOwn(kept, key)
      ? unknownFields(input[key], kept[key], [...path, key])
      : [{ field: [...path, key].join('.'), message: 'unknown field' }],
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The strict check of a payload another system sends (the HTTP edge): every problem listed, and
 * fields the catalog does not know refused rather than dropped.
 */
export function checkJobPayload<N extends JobName>(
  name: N,
  data: unknown,
): { ok: true; data: JobPayload<N> } | { ok: false; problems: PayloadProblem[] } {
  const result = jobCatalog[name].schema.safeParse(data);
  if (!result.success) return { ok: false, problems: flatten(result.error.issues) };
  const unknown = unknownFields(data, result.data);
  if (unknown.length > 0) return { ok: false, problems: unknown };
  return { ok: true, data: result.data as JobPayload<N> };
}
