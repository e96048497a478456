import { defineScripts, luaScript, oneOfResult, type RedisClient, type ScriptCall } from '@owc/redis';
import type { QueueBase } from 'bullmq';

const scripts = {
  owcQueuesForgetVanishedJob: luaScript(
    new URL('../lua/forget-vanished-job-9.lua', import.meta.url),
    oneOfResult(['forgotten', 'absent', 'present', 'held'] as const),
  ),
};

export type ForgetOutcome = 'forgotten' | 'absent' | 'present' | 'held';

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
 * Clears away a job whose hash vanished while its id was still queued. Left alone, an active one
 * stays in the active list and, once its lock expires, the stalled checker moves it back to wait
 * as a hash with no name and no data, which then fails (and is retried by whoever repairs failed
 * jobs); a waiting or delayed one is fetched as such a hollow job; and a job added again under the
 * id runs once per entry. Here every entry of the id leaves the queue's lists, and its lock and
 * log go with it: the job ends, removed.
 */
export class VanishedJobs {
  private readonly forgetScript: ScriptCall<ForgetOutcome>;

  constructor(redis: RedisClient) {
    this.forgetScript = defineScripts(redis, scripts).owcQueuesForgetVanishedJob;
  }

  /**
   * `queue`: the Worker (or Queue) the job belonged to, for its key names. `ended`: the worker
   * that ran it is done with it (BullMQ reported it), so its lock goes too; `unheld`: leave it
   * alone while a worker holds its lock (its processing is still under way and will end it).
   */
  forget(
    queue: Pick<QueueBase, 'toKey'>,
    jobId: string,
    when: 'ended' | 'unheld' = 'unheld',
  ): Promise<ForgetOutcome> {
    const jobKey = queue.toKey(jobId);
    return this.forgetScript(
      jobKey,
      queue.toKey('active'),
      queue.toKey('wait'),
      queue.toKey('paused'),
      queue.toKey('delayed'),
      queue.toKey('prioritized'),
      queue.toKey('stalled'),
      `${jobKey}:lock`,
      `${jobKey}:logs`,
      jobId,
      when,
    );
  }
}
