import { defineMetrics, type Registry } from '@owc/observability';
import { type Producer, QUEUE_NAMES, type QueueName } from '@owc/queues';
import type { Job } from 'bullmq';

/** The BullMQ states whose depth we export. */
export const QUEUE_STATES = [
  'wait',
  'prioritized',
  'active',
  'delayed',
  'failed',
  'waiting-children',
] as const;

/** Delayed jobs sampled (by due time) for the oldest one's age: bounds the cost of a scrape. */
export const DELAYED_AGE_SAMPLE = 50;

async function oldestAgeSeconds(jobs: Promise<Job[]>, now: number): Promise<number> {
  const list = await jobs;
  const oldest = list.reduce((min, job) => Math.min(min, job.timestamp), Number.POSITIVE_INFINITY);
  return Number.isFinite(oldest) ? Math.max(0, now - oldest) / 1000 : 0;
}

/**
 * Depth per queue and state, and the age of the oldest waiting job. Both read the shared queues
 * (a few Redis commands per queue and scrape), so every worker reports the same values.
 */
export function queueMetrics(
  registry: Registry,
  producer: Producer,
  queues: readonly QueueName[] = QUEUE_NAMES,
) {
  return defineMetrics(registry, (m) => ({
    depth: m.gauge({
      name: 'owc_queue_jobs',
      help: 'Jobs per queue and BullMQ state',
      labelNames: ['queue', 'state'] as const,
      scope: 'deployment',
      async collect(gauge) {
        await Promise.all(
          queues.map(async (queue) => {
            const counts = await producer.queue(queue).getJobCounts(...QUEUE_STATES);
            for (const state of QUEUE_STATES) gauge.set({ queue, state }, counts[state] ?? 0);
          }),
        );
      },
    }),
    oldestAge: m.gauge({
      name: 'owc_queue_oldest_job_age_seconds',
      help: 'Age (since it was added) of the oldest job waiting in the queue (state wait), or of the oldest among the next delayed jobs to run (state delayed); 0 when none',
      labelNames: ['queue', 'state'] as const,
      scope: 'deployment',
      async collect(gauge) {
        const now = Date.now();
        await Promise.all(
          queues.map(async (queue) => {
            const q = producer.queue(queue);
            const [wait, delayed] = await Promise.all([
              // the wait list is pushed on the left: ascending from the right end is oldest first
              oldestAgeSeconds(q.getJobs(['wait'], 0, 0, true), now),
              oldestAgeSeconds(q.getJobs(['delayed'], 0, DELAYED_AGE_SAMPLE - 1, true), now),
            ]);
            gauge.set({ queue, state: 'wait' }, wait);
            gauge.set({ queue, state: 'delayed' }, delayed);
          }),
        );
      },
    }),
  }));
}
