import { machineLayoutSchema, orderResultSchema, skuSchema } from '@owc/protocol';
import type { BackoffOptions, KeepJobs } from 'bullmq';
import { z } from 'zod';

/**
 * The queue catalog: every queue, every job name, its payload schema and its defaults. This is
 * a public contract — other systems (ERP, restocking app, machine gateway) enqueue into these
 * queues — so a change here is a change of API.
 */
export const QUEUE_NAMES = ['dispense', 'callback', 'sku-sync', 'machine-sync'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

const code = z.string().min(1).max(128);

export interface JobDefaults {
  attempts: number;
  backoff?: BackoffOptions;
  removeOnComplete: KeepJobs | boolean;
  removeOnFail: KeepJobs | boolean;
}

interface JobDefinition<S extends z.ZodType, I extends boolean = boolean> {
  queue: QueueName;
  schema: S;
  defaults: JobDefaults;
  description: string;
  /** internal jobs are added only by our own processes, never over HTTP or by another system */
  internal: I;
}

function defineJob<S extends z.ZodType, const I extends boolean>(
  definition: JobDefinition<S, I>,
): JobDefinition<S, I> {
  return definition;
}

/**
 * an order's finished jobs: the last 10,000 per queue (by count alone: an age as well cost every
 * completed job one more Redis command, and the count bounds the memory either way)
 */
const keepLast = { count: 10_000 };

/**
 * The named backoff strategy of `order.callback` jobs: the callback Worker registers it and
 * answers from CALLBACK_SCHEDULE_MS (delay before delivery k+1 = entry k, ±CALLBACK_JITTER).
 */
export const CALLBACK_BACKOFF = 'callback-schedule';
/**
 * BullMQ's ceiling on deliveries of one callback job. The worker's schedule ends delivery first
 * (one first delivery + one per CALLBACK_SCHEDULE_MS entry), so the schedule may be changed
 * without touching jobs already queued; the worker's config refuses a schedule this long.
 */
export const CALLBACK_MAX_ATTEMPTS = 100;
const keepWeek = { age: 7 * 24 * 3600, count: 100_000 };
/** the jobs of the sync queues: retried for a while, finished ones kept an hour */
const syncJobDefaults: JobDefaults = {
  attempts: 10,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 3600, count: 1000 },
  removeOnFail: keepWeek,
};

export const jobCatalog = {
  /** enqueued by the ingress when a notice is first accepted; the order itself is in the order store */
  'order.dispense': defineJob({
    queue: 'dispense',
    description:
      'Vend every unit of an accepted order, then finalise it and deliver its callback once (its callback job carries on if owitho does not accept it).',
    internal: true,
    schema: z.object({ orderViewId: code, machineCode: code }),
    defaults: {
      attempts: 50,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: keepLast,
      removeOnFail: keepWeek,
    },
  }),
  /**
   * enqueued by the dispense job when its own first delivery was not accepted (or when it makes
   * none); the payload sent is read from the order store
   */
  'order.callback': defineJob({
    queue: 'callback',
    description: 'Deliver order/callback to owitho until it answers 200.',
    internal: true,
    schema: z.object({
      orderViewId: code,
      // replay: sent again even when already reported (pnpm cli callback:replay)
      replay: z.literal(true).optional(),
      // deliveries made before this job existed (the dispense job's own): the schedule goes on after them
      deliveriesBefore: z
        .number()
        .int()
        .min(1)
        .max(CALLBACK_MAX_ATTEMPTS - 1)
        .optional(),
    }),
    // the failed set keeps the dead letters (the callback worker dead-letters on its schedule)
    defaults: {
      attempts: CALLBACK_MAX_ATTEMPTS,
      backoff: { type: CALLBACK_BACKOFF },
      removeOnComplete: keepLast,
      removeOnFail: false,
    },
  }),
  /** from the ERP: one or many SKUs changed (last write per skuCode wins) */
  'sku.upsert': defineJob({
    queue: 'sku-sync',
    description: 'One or many SKUs changed; they reach owitho in batched sku/sync calls.',
    internal: false,
    schema: z.union([z.object({ skus: z.array(skuSchema).min(1).max(1000) }), z.object({ sku: skuSchema })]),
    defaults: syncJobDefaults,
  }),
  /** from the restocking app or the gateway: a restock finished; the worker reads the layout from the gateway */
  'machine.restocked': defineJob({
    queue: 'machine-sync',
    description: 'A restock finished; the worker reads the machine from the gateway and sends machine/sync.',
    internal: false,
    schema: z.object({ machineCode: code, containerCode: code.optional() }),
    defaults: syncJobDefaults,
  }),
  /** from a system that knows the full layout itself */
  'machine.layout': defineJob({
    queue: 'machine-sync',
    description: 'A full machine layout given by the sender; sent to owitho as machine/sync.',
    internal: false,
    schema: machineLayoutSchema,
    defaults: syncJobDefaults,
  }),
} as const;

export type JobCatalog = typeof jobCatalog;
export type JobName = keyof JobCatalog;
export type JobInput<N extends JobName> = z.input<JobCatalog[N]['schema']>;
export type JobPayload<N extends JobName> = z.output<JobCatalog[N]['schema']>;

export const JOB_NAMES = Object.keys(jobCatalog) as JobName[];

export function isJobName(name: string): name is JobName {
  return Object.hasOwn(jobCatalog, name);
}

/** The jobs other systems may enqueue (over HTTP or straight into the queue). */
export type PublicJobName = {
  [N in JobName]: JobCatalog[N]['internal'] extends true ? never : N;
}[JobName];

export const PUBLIC_JOB_NAMES = JOB_NAMES.filter((name) => !jobCatalog[name].internal) as PublicJobName[];

export function isPublicJobName(name: string): name is PublicJobName {
  return isJobName(name) && !jobCatalog[name].internal;
}

/** The jobs a queue carries. */
export function jobsOf(queue: QueueName): JobName[] {
  return JOB_NAMES.filter((name) => jobCatalog[name].queue === queue);
}

/** Re-exported so consumers of the callback job can validate what they read back. */
export { orderResultSchema };
