import { describeZodError } from '@owc/protocol';
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
