import type { Logger } from '@owc/observability';
import type { Sku } from '@owc/protocol';
import type { JobPayload } from '@owc/queues';
import type { Job } from 'bullmq';
import type { SkuBuffer } from './sku-buffer.js';
import type { SyncMetrics } from './sync-metrics.js';

/**
 * The version of a job's changes: BullMQ's own job id when it is the auto-generated integer (an
 * INCR on the queue's counter when the job was added, so a later enqueue has a higher id, across
 * every producer); undefined for a job added with a custom id (the buffer then takes the next
 * counter value: "enqueued now").
 */
export function jobVersion(jobId: string | undefined): number | undefined {
  if (!jobId || !/^[1-9][0-9]{0,15}$/.test(jobId)) return undefined;
  const n = Number(jobId);
  return Number.isSafeInteger(n) ? n : undefined;
}

export interface SkuUpsertHandlerOptions {
  buffer: SkuBuffer;
  metrics: SyncMetrics;
  logger: Logger;
}

/** `sku.upsert`: writes the job's SKUs into the pending buffer; the flusher sends them. Never calls owitho. */
export class SkuUpsertHandler {
  constructor(private readonly options: SkuUpsertHandlerOptions) {}

  readonly handle = async (
    payload: JobPayload<'sku.upsert'>,
    job: Pick<Job, 'id'>,
  ): Promise<{ accepted: number; version: number }> => {
    const skus: Sku[] = 'skus' in payload ? payload.skus : [payload.sku];
    // within one job, the later entry of a skuCode wins
    const last = new Map<string, Sku>();
    for (const sku of skus) last.set(sku.skuCode, sku);
    const changes = [...last.values()].map((sku) => ({ skuCode: sku.skuCode, json: JSON.stringify(sku) }));
    const result = await this.options.buffer.upsert(changes, jobVersion(job.id));
    this.options.metrics.skuChanges.inc({ result: 'accepted' }, result.accepted);
    if (changes.length > result.accepted) {
      this.options.metrics.skuChanges.inc({ result: 'stale' }, changes.length - result.accepted);
      this.options.logger.debug(
        { jobId: job.id, stale: changes.length - result.accepted },
        'sku changes older than a known version: skipped',
      );
    }
    return result;
  };
}
