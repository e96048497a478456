import { createMetricsRegistry } from '@owc/observability';
import { createProducer } from '@owc/queues';
import { redisTest } from '@owc/testing';
import { describe, expect } from 'vitest';
import { countMachinesWithWork, machinesWithWorkGauge } from './machines-with-work.js';

describe('machines with open dispense work (what KEDA scales dispense on)', () => {
  redisTest('counts distinct machines over waiting and delayed jobs, not jobs', async ({ redis, prefix }) => {
    const producer = createProducer(redis, { keyPrefix: prefix });
    try {
      const queue = producer.queue('dispense');
      const options = { queue, redis, sampleLimit: 10_000 };
      expect(await countMachinesWithWork(options)).toBe(0);
      for (let i = 0; i < 5; i++)
        await producer.enqueue('order.dispense', { orderViewId: `OV-A${i}`, machineCode: 'M-A' });
      await producer.enqueue('order.dispense', { orderViewId: 'OV-B0', machineCode: 'M-B' });
      // waiting for its machine's lease: delayed, still open work
      await producer.enqueue(
        'order.dispense',
        { orderViewId: 'OV-C0', machineCode: 'M-C' },
        { delay: 60_000 },
      );
      expect(await queue.count()).toBe(7);
      expect(await countMachinesWithWork(options)).toBe(3);
      // bounded: never reads more than the sample
      expect(await countMachinesWithWork({ ...options, sampleLimit: 2 })).toBeLessThanOrEqual(2);

      const registry = createMetricsRegistry('worker');
      machinesWithWorkGauge(registry, options);
      expect(await registry.metrics()).toMatch(/^owc_dispense_machines_with_work\{app="worker"\} 3$/m);
      const ids = await queue.getRanges(['wait'], 0, -1);
      await Promise.all(ids.map((id) => queue.remove(id)));
      expect(await registry.metrics()).toMatch(/^owc_dispense_machines_with_work\{app="worker"\} 1$/m);
    } finally {
      await producer.close();
    }
  });
});
