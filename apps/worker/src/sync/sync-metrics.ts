import { defineMetrics, type Registry } from '@owc/observability';

/** The sync role's metrics (idempotent per registry, like the other roles'). */
export function syncMetrics(registry: Registry) {
  return defineMetrics(registry, (m) => ({
    skuBatches: m.counter({
      name: 'owc_sku_sync_batches_total',
      help: 'sku/sync requests sent, by outcome (ok, retryable, token-rejected, permanent, error)',
      labelNames: ['outcome'] as const,
    }),
    skusSent: m.counter({
      name: 'owc_sku_sync_skus_total',
      help: 'SKUs owitho accepted (answered 200 for)',
    }),
    skuBatchesDead: m.counter({
      name: 'owc_sku_sync_dead_batches_total',
      help: 'sku/sync batches owitho refused for good (permanent answer), moved to the dead-letter list',
    }),
    skuBatchSize: m.histogram({
      name: 'owc_sku_sync_batch_size',
      help: 'SKUs per sku/sync request',
      buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000],
    }),
    skuChanges: m.counter({
      name: 'owc_sku_changes_total',
      help: 'SKU changes consumed from sku.upsert jobs: accepted into the buffer, or stale (a newer version was known)',
      labelNames: ['result'] as const,
    }),
    machineSyncs: m.counter({
      name: 'owc_machine_syncs_total',
      help: 'machine/sync requests sent, by outcome (ok, retryable, token-rejected, permanent)',
      labelNames: ['outcome'] as const,
    }),
    machineEvents: m.counter({
      name: 'owc_machine_sync_events_total',
      help: 'machine.restocked / machine.layout jobs, by result (synced, covered: a later sync sent it, unknown-machine, failed)',
      labelNames: ['result'] as const,
    }),
    rateLimitWaits: m.counter({
      name: 'owc_owitho_rate_limit_waits_total',
      help: 'Times a sync call waited for the shared owitho rate limit',
    }),
  }));
}

export type SyncMetrics = ReturnType<typeof syncMetrics>;
