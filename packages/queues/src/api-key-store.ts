import { createHash, randomBytes } from 'node:crypto';
import { type RedisClient, taggedKey } from '@owc/redis';
import { z } from 'zod';
import { isPublicJobName, PUBLIC_JOB_NAMES, type PublicJobName } from './catalog.js';

/** What is stored per key (never the key itself: the field is the key's SHA-256). */
const apiKeyRecordSchema = z.object({
  id: z.string(),
  system: z.string(),
  jobs: z.array(z.string()),
  createdAt: z.number(),
});
export type ApiKeyRecord = z.infer<typeof apiKeyRecordSchema>;

/** The name of a calling system: it appears in logs, so it is short and plain. */
export const SYSTEM_NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

const KEY_FORM = /^owc_([0-9a-f]{8})_[A-Za-z0-9_-]{43}$/;

function hashOf(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/**
 * API keys of the systems that enqueue jobs, each scoped to the public job names it may add.
 * A key is `owc_<id>_<secret>`: the id (shown by `keys:list`, used by `keys:revoke`) is not
 * secret; the whole key is shown once, at creation, and only its SHA-256 is stored (keys are
 * 256 random bits, so a fast hash is enough). One Redis hash holds every key.
 */
export class ApiKeyStore {
  private readonly key: string;

  constructor(
    private readonly redis: RedisClient,
    keyPrefix: string,
    private readonly now: () => number = Date.now,
  ) {
    this.key = taggedKey(keyPrefix, 'api-keys', 'by-hash');
  }

  /** Creates a key for `system` allowed to enqueue `jobs`; returns the key (shown once) and its record. */
  async create(system: string, jobs: readonly string[]): Promise<{ key: string; record: ApiKeyRecord }> {
    if (!SYSTEM_NAME_PATTERN.test(system)) {
      throw new Error(`system name "${system}" must match ${SYSTEM_NAME_PATTERN}`);
    }
    if (jobs.length === 0)
      throw new Error(`name the jobs the key may enqueue: ${PUBLIC_JOB_NAMES.join(', ')}`);
    const refused = jobs.filter((name) => !isPublicJobName(name));
    if (refused.length > 0) {
      throw new Error(
        `not a public job: ${refused.join(', ')} (a key may enqueue only ${PUBLIC_JOB_NAMES.join(', ')})`,
      );
    }
    const id = randomBytes(4).toString('hex');
    const key = `owc_${id}_${randomBytes(32).toString('base64url')}`;
    const record: ApiKeyRecord = { id, system, jobs: [...new Set(jobs)], createdAt: this.now() };
    await this.redis.hset(this.key, hashOf(key), JSON.stringify(record));
    return { key, record };
  }

  /** The record of a presented key; undefined for a key that is malformed, unknown or revoked. */
  async verify(key: string): Promise<ApiKeyRecord | undefined> {
    if (!KEY_FORM.test(key)) return undefined;
    const raw = await this.redis.hget(this.key, hashOf(key));
    return raw ? apiKeyRecordSchema.parse(JSON.parse(raw)) : undefined;
  }

  async list(): Promise<ApiKeyRecord[]> {
    const all = await this.redis.hgetall(this.key);
    return Object.values(all)
      .map((raw) => apiKeyRecordSchema.parse(JSON.parse(raw)))
      .sort((a, b) => a.createdAt - b.createdAt);
  }

  /** Revokes the key with this id, or every key of this system; returns the records revoked. */
  async revoke(idOrSystem: string): Promise<ApiKeyRecord[]> {
    const all = await this.redis.hgetall(this.key);
    const revoked: ApiKeyRecord[] = [];
    for (const [hash, raw] of Object.entries(all)) {
      const record = apiKeyRecordSchema.parse(JSON.parse(raw));
      if (record.id === idOrSystem || record.system === idOrSystem) {
        await this.redis.hdel(this.key, hash);
        revoked.push(record);
      }
    }
    return revoked;
  }
}

/** Whether a key's record allows enqueueing `name` (internal jobs never). */
export function keyAllows(record: ApiKeyRecord, name: string): name is PublicJobName {
  return isPublicJobName(name) && record.jobs.includes(name);
}
