import { createConsumer } from '@owc/queues';
import { DispenseHandler } from '../dispense/dispense.handler.js';
import { dispenseMetrics, stuckOrderMetrics } from '../dispense/dispense-metrics.js';
import { machinesWithWorkGauge } from '../dispense/machines-with-work.js';
import { StuckOrders } from '../dispense/stuck-orders.js';
import { watchWorker } from '../queues/worker-errors.js';
import { bullWorkerCheck } from '../readiness.js';
import { callbackDelivery, consumerOptions, type RoleStarter } from '../worker-context.js';

/** How often the stuck-order sweep runs: a quarter of the threshold, between 1 s and 1 min. */
export function sweepIntervalMs(stuckAfterMs: number): number {
  return Math.min(60_000, Math.max(1000, Math.floor(stuckAfterMs / 4)));
}

/**
 * Consumes `order.dispense` jobs (DispenseHandler) and sweeps for stuck orders. Stalled jobs
 * (a pod that died mid-job) are picked up again by BullMQ and resume from the order store;
 * `maxStalledCount` is generous so a crash loop does not fail an order's job.
 */
export const startDispenseRole: RoleStarter = async (ctx) => {
  const { config } = ctx;
  const logger = ctx.logger.child({ role: 'dispense' });
  const stopping = new AbortController();
  const handler = new DispenseHandler({
    stopping: stopping.signal,
    redis: ctx.redis,
    store: ctx.store,
    timeline: ctx.timeline,
    gateway: ctx.gateway,
    producer: ctx.producer,
    // the order's first callback delivery, here as soon as it is final (CALLBACK_FIRST_DELIVERY)
    ...(config.CALLBACK_FIRST_DELIVERY === 'inline'
      ? {
          firstDelivery: {
            delivery: callbackDelivery(ctx),
            maxInFlight: config.CALLBACK_FIRST_DELIVERIES_IN_FLIGHT,
          },
        }
      : {}),
    metrics: dispenseMetrics(ctx.metrics, { machineLabelsMax: config.METRICS_MACHINE_LABELS_MAX }),
    logger,
    settings: {
      keyPrefix: config.KEY_PREFIX,
      leaseTtlMs: config.MACHINE_LEASE_TTL_MS,
      leaseWaitMs: config.MACHINE_LEASE_WAIT_MS,
      retryBudget: config.VEND_RETRY_BUDGET,
      resolveBackoffMs: config.VEND_RESOLVE_BACKOFF_MS,
      retryDelayMs: config.VEND_RETRY_DELAY_MS,
      resolveGiveUpMs: Math.max(config.GATEWAY_VEND_TIMEOUT_MS, config.MACHINE_LEASE_TTL_MS / 2),
      // a vend leaves with the lease ours for its timeout and half the rest of the TTL to spare:
      // a lease taken or renewed within that other half is not renewed again first
      leaseKeptMs:
        config.GATEWAY_VEND_TIMEOUT_MS + (config.MACHINE_LEASE_TTL_MS - config.GATEWAY_VEND_TIMEOUT_MS) / 2,
    },
  });
  const worker = createConsumer(
    'dispense',
    { 'order.dispense': handler.handle },
    {
      ...consumerOptions(ctx, config.DISPENSE_CONCURRENCY),
      maxStalledCount: 1000,
    },
  );
  watchWorker(worker, { queue: 'dispense', redis: ctx.redis, logger });

  machinesWithWorkGauge(ctx.metrics, {
    queue: ctx.producer.queue('dispense'),
    redis: ctx.redis,
    sampleLimit: config.DISPENSE_MACHINES_SAMPLE,
  });

  const stuck = new StuckOrders({
    store: ctx.store,
    producer: ctx.producer,
    stuckAfterMs: config.STUCK_ORDER_AFTER_MS,
    logger: logger.child({ component: 'stuck-orders' }),
    metrics: stuckOrderMetrics(ctx.metrics),
  });
  let sweeping: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    if (sweeping) return;
    sweeping = stuck
      .sweep()
      .catch((error: unknown) =>
        logger.warn(
          { err: error instanceof Error ? error.message : String(error) },
          'stuck-order sweep failed',
        ),
      )
      .finally(() => {
        sweeping = undefined;
      });
  }, sweepIntervalMs(config.STUCK_ORDER_AFTER_MS));
  timer.unref();

  return {
    role: 'dispense',
    readiness: { worker: bullWorkerCheck(worker) },
    async close() {
      // first: no new unit starts (a job between units steps back), then wait for the vends in flight
      stopping.abort();
      clearInterval(timer);
      await worker.close();
      await sweeping;
    },
    async abandon() {
      const released = await handler.releaseLeases();
      if (released > 0)
        logger.warn({ released }, 'vend still in flight at the shutdown deadline: machine lease released');
    },
  };
};
