import { MachineStateStore } from '@owc/machine-state';
import { createConsumer, queuePrefix } from '@owc/queues';
import { watchWorker } from '../queues/worker-errors.js';
import { bullWorkerCheck } from '../readiness.js';
import { MachineSyncHandler } from '../sync/machine-sync.handler.js';
import { MachineSyncState } from '../sync/machine-sync-state.js';
import { OwithoRateLimiter } from '../sync/owitho-rate-limiter.js';
import { SkuBuffer } from '../sync/sku-buffer.js';
import { SkuFlusher } from '../sync/sku-flusher.js';
import { SkuUpsertHandler } from '../sync/sku-upsert.handler.js';
import { syncMetrics } from '../sync/sync-metrics.js';
import { consumerOptions, type RoleStarter } from '../worker-context.js';

/**
 * The sync role (docs/sync.md):
 * - `sku.upsert` jobs go into a shared pending buffer in Redis (never straight to owitho); a
 *   flusher in every pod sends batches of SKU_BATCH_SIZE, or smaller ones after
 *   SKU_BATCH_MAX_WAIT_MS, with the newest version of each SKU;
 * - `machine.restocked` / `machine.layout` jobs are coalesced per machine: at most one
 *   machine/sync in flight per machine, always with the newest state;
 * - every call to owitho waits for the shared OWITHO_RATE_LIMIT_PER_SEC budget.
 */
export const startSyncRole: RoleStarter = async (ctx) => {
  const { config } = ctx;
  const logger = ctx.logger.child({ role: 'sync' });
  const metrics = syncMetrics(ctx.metrics);
  const limiter = new OwithoRateLimiter({
    redis: ctx.redis,
    keyPrefix: config.KEY_PREFIX,
    perSecond: config.OWITHO_RATE_LIMIT_PER_SEC,
    onWait: () => metrics.rateLimitWaits.inc(),
  });

  const buffer = new SkuBuffer({ redis: ctx.redis, keyPrefix: config.KEY_PREFIX });
  const skuQueue = ctx.producer.queue('sku-sync');
  const flusher = new SkuFlusher({
    buffer,
    send: (skus) => ctx.owitho.syncSkus(skus),
    batchSize: config.SKU_BATCH_SIZE,
    maxWaitMs: config.SKU_BATCH_MAX_WAIT_MS,
    leaseMs: config.SKU_BATCH_LEASE_MS,
    // jobs not yet consumed may supersede what is pending: hold a merely full batch for them
    backlog: async () => {
      const counts = await skuQueue.getJobCounts('wait', 'prioritized');
      return (counts.wait ?? 0) + (counts.prioritized ?? 0);
    },
    acquire: (signal) => limiter.acquire(signal),
    metrics,
    logger: logger.child({ component: 'sku-flusher' }),
  });
  const skuHandler = new SkuUpsertHandler({ buffer, metrics, logger });
  const skuWorker = createConsumer(
    'sku-sync',
    {
      'sku.upsert': async (payload, job) => {
        const result = await skuHandler.handle(payload, job);
        if (result.accepted > 0) flusher.wake();
        return result;
      },
    },
    consumerOptions(ctx, config.SKU_SYNC_CONCURRENCY),
  );
  watchWorker(skuWorker, { queue: 'sku-sync', redis: ctx.redis, logger });
  flusher.start();

  const machineCounter = `${queuePrefix(config.KEY_PREFIX, 'machine-sync')}:machine-sync:id`;
  const machineHandler = new MachineSyncHandler({
    state: new MachineSyncState(ctx.redis, config.KEY_PREFIX),
    gateway: ctx.gateway,
    send: (layout) => ctx.owitho.syncMachine(layout),
    acquire: () => limiter.acquire(),
    // what was sent is the machine's last known state: the ingress answers machine/query from it
    snapshots: new MachineStateStore({ redis: ctx.redis, keyPrefix: config.KEY_PREFIX }),
    // a job added with a custom id is versioned when first seen (auto ids are versions already)
    nextVersion: () => ctx.redis.incr(machineCounter),
    quietMs: config.MACHINE_SYNC_QUIET_MS,
    maxHoldMs: config.MACHINE_SYNC_MAX_WAIT_MS,
    lockTtlMs: config.MACHINE_SYNC_LOCK_MS,
    metrics,
    logger: logger.child({ component: 'machine-sync' }),
  });
  const machineWorker = createConsumer(
    'machine-sync',
    { 'machine.restocked': machineHandler.restocked, 'machine.layout': machineHandler.layout },
    consumerOptions(ctx, config.MACHINE_SYNC_CONCURRENCY),
  );
  watchWorker(machineWorker, { queue: 'machine-sync', redis: ctx.redis, logger });

  return {
    role: 'sync',
    readiness: { 'sku-worker': bullWorkerCheck(skuWorker), 'machine-worker': bullWorkerCheck(machineWorker) },
    async close() {
      await Promise.all([skuWorker.close(), machineWorker.close()]);
      await flusher.close();
    },
  };
};
