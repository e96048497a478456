import type { Logger } from '@owc/observability';
import { describeEvent, type OrderTimeline, type TimelineEvent } from '@owc/order-store';
import { vanishedJobOf } from '@owc/queues';
import type { Job } from 'bullmq';

/**
 * Writes a step of an order's life twice: into the order's timeline (the operator's order page)
 * and into the job's log (the dashboard's Logs tab). Never fails the job: a lost line is warned.
 */
export class TimelineWriter {
  constructor(
    private readonly timeline: OrderTimeline,
    private readonly logger: Logger,
  ) {}

  async record(job: Job | undefined, orderViewId: string, event: TimelineEvent): Promise<void> {
    try {
      await Promise.all([this.timeline.append(orderViewId, event), job?.log(describeEvent(event))]);
    } catch (error) {
      // the job's own end reports a job whose hash vanished, once (queues/worker-errors.ts)
      const level = vanishedJobOf(error) ? 'debug' : 'warn';
      this.logger[level]({ err: error, orderViewId, event: event.e }, 'timeline: event not written');
    }
  }

  /** Indexes the order for search; writes `accepted` the first time. */
  async accepted(
    job: Job | undefined,
    orderViewId: string,
    machineCode: string,
    acceptedAt: number,
  ): Promise<void> {
    try {
      if (await this.timeline.index(orderViewId, machineCode, acceptedAt)) {
        await this.record(job, orderViewId, { e: 'accepted', at: acceptedAt });
      }
    } catch (error) {
      this.logger.warn({ err: error, orderViewId }, 'timeline: order not indexed');
    }
  }
}
