import { Counter, Histogram, type Registry } from '@owc/observability';
import { metricOf } from '../dispense/dispense-metrics.js';

export interface SyncMetrics {
  skuBatches: Counter<'outcome'>;
  skusSent: Counter;
  skuBatchesDead: Counter;
  skuBatchSize: Histogram;
  skuChanges: Counter<'result'>;
  machineSyncs: Counter<'outcome'>;
  machineEvents: Counter<'result'>;
  rateLimitWaits: Counter;
}

/** The sync role's metrics (idempotent per registry, like the other roles'). */
export function syncMetrics(registry: Registry): SyncMetrics {
  const registers = [registry];
  return {
    skuBatches: metricOf(
      registry,
      'owc_sku_sync_batches_total',
      () =>
        new Counter({
          name: 'owc_sku_sync_batches_total',
          help: 'sku/sync requests sent, by outcome (ok, retryable, token-rejected, permanent, error)',
          labelNames: ['outcome'] as const,
          registers,
        }),
    ),
    skusSent: metricOf(
      registry,
      'owc_sku_sync_skus_total',
      () =>
        new Counter({
          name: 'owc_sku_sync_skus_total',
          help: 'SKUs owitho accepted (answered 200 for)',
          registers,
        }),
    ),
    skuBatchesDead: metricOf(
      registry,
      'owc_sku_sync_dead_batches_total',
      () =>
        new Counter({
          name: 'owc_sku_sync_dead_batches_total',
          help: 'sku/sync batches owitho refused for good (permanent answer), moved to the dead-letter list',
          registers,
        }),
    ),
    skuBatchSize: metricOf(
      registry,
      'owc_sku_sync_batch_size',
      () =>
        new Histogram({
          name: 'owc_sku_sync_batch_size',
          help: 'SKUs per sku/sync request',
          buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000],
          registers,
        }),
    ),
    skuChanges: metricOf(
      registry,
      'owc_sku_changes_total',
      () =>
        new Counter({
          name: 'owc_sku_changes_total',
          help: 'SKU changes consumed from sku.upsert jobs: accepted into the buffer, or stale (a newer version was known)',
          labelNames: ['result'] as const,
          registers,
        }),
    ),
    machineSyncs: metricOf(
      registry,
      'owc_machine_syncs_total',
      () =>
        new Counter({
          name: 'owc_machine_syncs_total',
          help: 'machine/sync requests sent, by outcome (ok, retryable, token-rejected, permanent)',
          labelNames: ['outcome'] as const,
          registers,
        }),
    ),
    machineEvents: metricOf(
      registry,
      'owc_machine_sync_events_total',
      () =>
        new Counter({
          name: 'owc_machine_sync_events_total',
          help: 'machine.restocked / machine.layout jobs, by result (synced, covered: a later sync sent it, unknown-machine, failed)',
          labelNames: ['result'] as const,
          registers,
        }),
    ),
    rateLimitWaits: metricOf(
      registry,
      'owc_owitho_rate_limit_waits_total',
      () =>
        new Counter({
          name: 'owc_owitho_rate_limit_waits_total',
          help: 'Times a sync call waited for the shared owitho rate limit',
          registers,
        }),
    ),
  };
}
