import type { RedisClient } from '@owc/redis';
import { type JobsOptions, Queue, type Telemetry } from 'bullmq';
import { type JobInput, type JobName, jobCatalog, type QueueName } from './catalog.js';
import { queuePrefix } from './names.js';
import { parseJobPayload } from './validate.js';
import { type ForgetOutcome, VanishedJobs } from './vanished-jobs.js';

export interface EnqueueOptions {
  /** deterministic id: a second enqueue with the same id while the job exists adds nothing */
  jobId?: string;
  delay?: number;
}

export interface Producer {
  /** Validates the payload against the catalog, then adds the job with the catalog's defaults. */
  enqueue<N extends JobName>(
    name: N,
    payload: JobInput<N>,
    options?: EnqueueOptions,
  ): Promise<{ id: string }>;
  queue(name: QueueName): Queue;
  /**
   * Clears the queue's entries of a job whose hash is gone (VanishedJobs), so that a job added
   * again under its id runs once; a job that exists ('present') or that a worker is still running
   * ('held') is left alone.
   */
  forgetVanished(name: QueueName, jobId: string): Promise<ForgetOutcome>;
  close(): Promise<void>;
}

/** One BullMQ Queue per catalog queue, created lazily, sharing the given connection. */
export function createProducer(
  connection: RedisClient,
  options: {
    keyPrefix: string;
    /** BullMQ telemetry (tracing on): the trace rides along with each job */
    telemetry?: Telemetry;
    /** a queue's connection errors (without it BullMQ prints them to stderr) */
    onQueueError?: (error: Error, queue: QueueName) => void;
  },
): Producer {
  const queues = new Map<QueueName, Queue>();
  const queue = (name: QueueName): Queue => {
    let q = queues.get(name);
    if (!q) {
      const created = new Queue(name, {
        connection,
        prefix: queuePrefix(options.keyPrefix, name),
        ...(options.telemetry ? { telemetry: options.telemetry } : {}),
      });
      // BullMQ keeps a failed first handshake (its INFO timed out under load, or Redis was
      // away) as a rejected promise for the queue's whole life: every later add would fail
      // until a restart. Forget such a queue so the next enqueue builds a fresh one.
      created.waitUntilReady().catch(() => {
        if (queues.get(name) === created) queues.delete(name);
        void created.close().catch(() => {});
      });
      if (options.onQueueError) {
        const report = options.onQueueError;
        created.on('error', (error: Error) => report(error, name));
      }
      queues.set(name, created);
      q = created;
    }
    return q;
  };
  let vanished: VanishedJobs | undefined;
  return {
    async enqueue(name, payload, enqueueOptions = {}) {
      const data = parseJobPayload(name, payload);
      const definition = jobCatalog[name];
      const jobOptions: JobsOptions = { ...definition.defaults };
      if (enqueueOptions.jobId) jobOptions.jobId = enqueueOptions.jobId;
      if (enqueueOptions.delay) jobOptions.delay = enqueueOptions.delay;
      const job = await queue(definition.queue).add(name, data, jobOptions);
      return { id: String(job.id) };
    },
    queue,
    forgetVanished(name, jobId) {
      vanished ??= new VanishedJobs(connection);
      return vanished.forget(queue(name), jobId);
    },
    async close() {
      await Promise.all([...queues.values()].map((q) => q.close()));
    },
  };
}
