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
 * A BullMQ Worker for one catalog queue that re-validates every job before its handler runs:
 * other systems enqueue too, and may not use our producer. An invalid job, or one whose name
 * this queue has no handler for, fails at once (UnrecoverableError, no retries) with the field
 * named, stays in the failed set for inspection, and the queue moves on.
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
    return handler(payload, job, token);
  };
  return new Worker(queue, processor, { ...workerOptions, prefix: queuePrefix(keyPrefix, queue) });
}
