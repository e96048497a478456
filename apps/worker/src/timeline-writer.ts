import type { Logger } from '@owc/observability';
import { describeEvent, type OrderTimeline, type TimelineEvent } from '@owc/order-store';
import { vanishedJobOf } from '@owc/queues';
import type { Job } from 'bullmq';

/**
 * Writes the steps of an order's life twice: into the order's timeline (the operator's order
 * page) and into the job's log (the dashboard's Logs tab). Never fails the job: a lost line is
 * warned.
 */
export class TimelineWriter {
  constructor(
    private readonly timeline: OrderTimeline,
    private readonly logger: Logger,
  ) {}

  async record(job: Job | undefined, orderViewId: string, ...events: TimelineEvent[]): Promise<void> {
    if (events.length === 0) return;
    try {
      await Promise.all([
        this.timeline.append(orderViewId, ...events),
        // one log row per write: several events are its lines
        job?.log(events.map(describeEvent).join('\n')),
      ]);
    } catch (error) {
      this.notWritten(error, orderViewId, events);
    }
  }

  private notWritten(error: unknown, orderViewId: string, events: readonly TimelineEvent[]): void {
    // the job's own end reports a job whose hash vanished, once (queues/worker-errors.ts)
    const level = vanishedJobOf(error) ? 'debug' : 'warn';
    const kinds = events.map((event) => event.e).join(',');
    this.logger[level]({ err: error, orderViewId, events: kinds }, 'timeline: events not written');
  }

  /**
   * The events go to the order with its report (`report` packs them with the list's own, and
   * answers whether it took them: otherwise they are appended like any others); the job's log
   * gets its row as always. If the report fails, the events are appended before its error goes on.
   */
  private async withReport(
    job: Job,
    orderViewId: string,
    events: TimelineEvent[],
    report: (encoded: string[], maxEvents: number) => Promise<boolean>,
  ): Promise<void> {
    if (events.length === 0) {
      await report([], this.timeline.maxEvents);
      return;
    }
    const logged = job.log(events.map(describeEvent).join('\n')).then(
      () => undefined,
      (error: unknown) => this.notWritten(error, orderViewId, events),
    );
    let taken: boolean;
    try {
      taken = await report(this.timeline.encode(orderViewId, events), this.timeline.maxEvents);
    } catch (error) {
      await this.record(undefined, orderViewId, ...events);
      await logged;
      throw error;
    }
    if (!taken) await this.record(undefined, orderViewId, ...events);
    await logged;
  }

  /**
   * The events of one dispense run, written together when it ends (one timeline write and one
   * log row instead of one of each per unit: they were a quarter of the worker's socket writes).
   * A crash mid-run loses the run's lines, never a unit's state: that lives in the order record.
   */
  run(job: Job, orderViewId: string): TimelineRun {
    const events: TimelineEvent[] = [];
    return {
      add: (event) => {
        events.push(event);
      },
      flush: () => this.record(job, orderViewId, ...events.splice(0)),
      report: (report) => this.withReport(job, orderViewId, events.splice(0), report),
    };
  }
}

export interface TimelineRun {
  add(event: TimelineEvent): void;
  /** writes what was added since the last flush; never throws */
  flush(): Promise<void>;
  /**
   * Writes what was added since the last flush with the order's report, in one step (no list
   * written and read back): `report` marks the order reported with the events given (encoded)
   * and answers whether it took them. Throws what `report` throws.
   */
  report(report: (encoded: string[], maxEvents: number) => Promise<boolean>): Promise<void>;
}
