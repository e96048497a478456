import type { RedisClient } from '@owc/redis';
import { type Job, type Processor, UnrecoverableError, Worker, type WorkerOptions } from 'bullmq';
import type { JobName, JobPayload, QueueName } from './catalog.js';
import { InvalidJobError } from './errors/invalid-job-error.js';
import { queuePrefix } from './names.js';
import { parseJobPayload } from './validate.js';

export type JobHandler<N extends JobName> = (
  payload: JobPayload<N>,
  job: Job,
  token?: string,
) => Promise<unknown>;
export type JobHandlers = { [N in JobName]?: JobHandler<N> };

export interface ConsumerOptions extends Omit<WorkerOptions, 'connection' | 'prefix'> {
  connection: RedisClient;
  keyPrefix: string;
}

/**
 * BullMQ's Worker, with its lock renewal kept right for jobs that step back. BullMQ renews locks
 * by job id: a job that moves itself must leave the renewal (`stopRenewingLock`), and a job
 * that is fetched again while its previous run is still returning must not lose it (below).
 */
class CatalogWorker extends Worker {
  /** the lock token of the newest run of each job id going on in this worker */
  private readonly runs = new Map<string, string>();

  stopRenewingLock(jobId: string): void {
    this.lockManager.untrackJob(jobId);
  }

  /**
   * A job that stepped back can be woken and fetched again by this worker while its previous
   * run is still finishing (its handler's last writes, BullMQ's own moves). When that run ends,
   * BullMQ stops renewing the job's id, which is now the newer run's: its lock would expire
   * under it and the stalled-job check would hand the job out a second time. The newer run's
   * renewal is put back.
   */
  override async processJob(job: Job, token: string, fetchNextCallback?: () => boolean) {
    const id = job.id;
    if (id === undefined) return super.processJob(job, token, fetchNextCallback);
    this.runs.set(id, token);
    try {
      return await super.processJob(job, token, fetchNextCallback);
    } finally {
      const newest = this.runs.get(id);
      if (newest === token) this.runs.delete(id);
      else if (newest !== undefined) this.lockManager.trackJob(id, newest, Date.now());
    }
  }
}

/**
 * A BullMQ Worker for one catalog queue that re-validates every job before its handler runs:
 * other systems enqueue too, and may not use our producer. An invalid job, or one whose name
 * this queue has no handler for, fails at once (UnrecoverableError, no retries) with the field
 * named, stays in the failed set for inspection, and the queue moves on.
 *
 * A job its handler moves itself (`stepBack`: `moveToDelayed` with the job's token) leaves
 * BullMQ's lock renewal before the move. BullMQ renews the lock of every job whose handler has
 * not returned yet, and the move deletes the lock: a renewal round that came between the move
 * and the handler's return failed, and BullMQ reported "could not renew lock for job …".
 */
export function createConsumer(queue: QueueName, handlers: JobHandlers, options: ConsumerOptions): Worker {
  const { keyPrefix, ...workerOptions } = options;
  const processor: Processor = async (job, token) => {
    // BullMQ brings back a job whose hash vanished while it waited as a hash without name or data
    if (!job.name)
      throw new UnrecoverableError(`job ${job.id} has no name and no data: its hash vanished; nothing ran`);
    const handler = handlers[job.name as JobName] as JobHandler<JobName> | undefined;
    if (!handler) throw new UnrecoverableError(`queue ${queue} has no handler for job name "${job.name}"`);
    let payload: JobPayload<JobName>;
    try {
      payload = parseJobPayload(job.name, job.data);
    } catch (error) {
      if (error instanceof InvalidJobError) throw new UnrecoverableError(error.message);
      throw error;
    }
    const move = job.moveToDelayed.bind(job);
    job.moveToDelayed = async (timestamp, moveToken) => {
      worker.stopRenewingLock(String(job.id));
      return move(timestamp, moveToken);
    };
    return handler(payload, job, token);
  };
  const worker = new CatalogWorker(queue, processor, {
    ...workerOptions,
    prefix: queuePrefix(keyPrefix, queue),
  });
  return worker;
}
