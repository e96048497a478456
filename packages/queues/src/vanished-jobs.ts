import { defineScripts, luaScript, oneOfResult, type RedisClient, type ScriptCall } from '@owc/redis';
import type { QueueBase } from 'bullmq';

const scripts = {
  owcQueuesForgetVanishedJob: luaScript(
    new URL('../lua/forget-vanished-job-5.lua', import.meta.url),
    oneOfResult(['forgotten', 'absent', 'present'] as const),
  ),
};

export type ForgetOutcome = 'forgotten' | 'absent' | 'present';

/** What BullMQ says when a job's hash is gone: `Missing key for job <id>. <command>`. */
const MISSING_JOB_KEY = /^Missing key for job (.+)\. (\w+)$/s;

/**
 * The job a BullMQ error is about when that job's hash vanished under it (BullMQ could not
 * complete, fail, delay or log it); undefined for any other error.
 */
export function vanishedJobOf(error: unknown): { jobId: string; command: string } | undefined {
  if (!(error instanceof Error)) return undefined;
  const match = MISSING_JOB_KEY.exec(error.message);
  if (!match?.[1] || !match[2]) return undefined;
  return { jobId: match[1], command: match[2] };
}

/**
 * Clears away a job whose hash vanished while it was active. Left alone, its id stays in the
 * active list; once its lock expires the stalled checker moves it back to wait as a hash with
 * no name and no data, which then fails (and is retried by whoever repairs failed jobs). Here it
 * leaves the active and stalled sets, and its lock and log go with it: the job ends, removed.
 */
export class VanishedJobs {
  private readonly forgetScript: ScriptCall<ForgetOutcome>;

  constructor(redis: RedisClient) {
    this.forgetScript = defineScripts(redis, scripts).owcQueuesForgetVanishedJob;
  }

  /** `queue`: the Worker (or Queue) the job belonged to, for its key names. */
  forget(queue: Pick<QueueBase, 'toKey'>, jobId: string): Promise<ForgetOutcome> {
    const jobKey = queue.toKey(jobId);
    return this.forgetScript(
      jobKey,
      queue.toKey('active'),
      queue.toKey('stalled'),
      `${jobKey}:lock`,
      `${jobKey}:logs`,
      jobId,
    );
  }
}
