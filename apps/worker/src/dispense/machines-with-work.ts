import type { Registry } from '@owc/observability';
import type { RedisClient } from '@owc/redis';
import type { Queue } from 'bullmq';
import { Gauge } from 'prom-client';

export interface MachinesWithWorkOptions {
  /** the dispense queue */
  queue: Queue;
  redis: RedisClient;
  /** at most this many open jobs are read per count (DISPENSE_MACHINES_SAMPLE) */
  sampleLimit: number;
}

const OPEN_STATES = ['active', 'wait', 'prioritized', 'delayed'] as const;

/**
 * How many distinct machines have open dispense work (jobs active, waiting, prioritized or
 * delayed waiting for a machine's lease). Dispense is bound by one vend per machine, so this,
 * not the queue's length, is what more pods can use: KEDA scales the dispense pods on it
 * (deploy/kubernetes, docs/operations.md). Reads the job ids, then each job's `data` field in one
 * pipeline: O(open jobs), bounded by `sampleLimit`.
 */
export async function countMachinesWithWork(options: MachinesWithWorkOptions): Promise<number> {
  const { queue, redis, sampleLimit } = options;
  const ids = await queue.getRanges([...OPEN_STATES], 0, sampleLimit - 1, true);
  if (ids.length === 0) return 0;
  const pipeline = redis.pipeline();
  for (const id of ids.slice(0, sampleLimit)) pipeline.hget(queue.toKey(id), 'data');
  const answers = (await pipeline.exec()) ?? [];
  const machines = new Set<string>();
  for (const [error, data] of answers) {
    if (error || typeof data !== 'string') continue; // a job that finished meanwhile
    try {
      const machineCode = (JSON.parse(data) as { machineCode?: unknown }).machineCode;
      if (typeof machineCode === 'string') machines.add(machineCode);
    } catch {
      // not ours to judge here: the consumer refuses a malformed payload
    }
  }
  return machines.size;
}

/** The gauge `owc_dispense_machines_with_work`, counted when scraped. */
export function machinesWithWorkGauge(registry: Registry, options: MachinesWithWorkOptions): Gauge {
  return new Gauge({
    name: 'owc_dispense_machines_with_work',
    help: 'machines with open dispense jobs (active, waiting or delayed): what KEDA scales dispense pods on',
    registers: [registry],
    async collect() {
      this.set(await countMachinesWithWork(options));
    },
  });
}
