import type { Logger } from '@owc/observability';
import type { OrderState, OrderStore } from '@owc/order-store';
import type { Producer, QueueName } from '@owc/queues';
import { callbackJobId, dispenseJobId } from '@owc/queues';
import { enqueueCallback } from '../callback/callback-jobs.js';
import type { StuckOrderMetrics } from './dispense-metrics.js';

export type StuckKind = 'dispensing' | 'unreported' | 'dead';

export interface StuckOrder {
  orderViewId: string;
  state: OrderState;
  kind: StuckKind;
  machineCode: string;
  acceptedAt: number;
  ageMs: number;
  /** the job that should be moving it on: its id and BullMQ state ('missing' when there is none) */
  job: { queue: QueueName; id: string; state: string };
}

export interface RepairAction {
  orderViewId: string;
  kind: StuckKind;
  action: 'enqueued' | 'retried' | 'replaced' | 'revived' | 'none';
  jobId: string;
}

export interface StuckOrdersOptions {
  store: OrderStore;
  producer: Producer;
  stuckAfterMs: number;
  logger: Logger;
  metrics: StuckOrderMetrics;
}

const KINDS: readonly StuckKind[] = ['dispensing', 'unreported', 'dead'];

/** BullMQ states of a job that has not finished: it will run (again) */
const UNFINISHED: ReadonlySet<string> = new Set([
  'active',
  'waiting',
  'waiting-children',
  'delayed',
  'prioritized',
]);

function kindOf(state: OrderState): StuckKind | undefined {
  if (state === 'accepted' || state === 'dispensing') return 'dispensing';
  if (state === 'final') return 'unreported';
  if (state === 'dead') return 'dead';
  return undefined;
}

/**
 * docs/order-lifecycle.md invariant 7: orders still `accepted`/`dispensing`, or `final` and not
 * reported, past STUCK_ORDER_AFTER_MS are made visible (gauge, log) and repairable: the job
 * that should move each one on is re-created under its deterministic id when it is missing,
 * and retried when it failed. Repair is idempotent: a job that exists is left alone.
 */
export class StuckOrders {
  constructor(private readonly options: StuckOrdersOptions) {}

  /** Open orders accepted more than `olderThanMs` ago (default STUCK_ORDER_AFTER_MS), oldest first. */
  async list(olderThanMs = this.options.stuckAfterMs, now = Date.now(), limit = 1000): Promise<StuckOrder[]> {
    const { store, producer } = this.options;
    const ids = await store.openSince(now - olderThanMs, limit);
    const stuck: StuckOrder[] = [];
    for (const orderViewId of ids) {
      const record = await store.get(orderViewId);
      if (!record) continue; // expired: its index entry outlived it
      const kind = kindOf(record.state);
      if (!kind) continue;
      const queue: QueueName = kind === 'dispensing' ? 'dispense' : 'callback';
      const id = kind === 'dispensing' ? dispenseJobId(orderViewId) : callbackJobId(orderViewId);
      const job = await producer.queue(queue).getJob(id);
      let moving = { queue, id, state: job ? await job.getState() : 'missing' };
      if (kind === 'unreported' && !job) {
        // a final order is its dispense job's until that job completes: it is delivering the
        // first callback itself (or will, once retried), and adds the callback job if owitho
        // does not accept it; a callback job added now would only deliver a second time
        const dispenseId = dispenseJobId(orderViewId);
        const state = await (await producer.queue('dispense').getJob(dispenseId))?.getState();
        if (state && UNFINISHED.has(state)) moving = { queue: 'dispense', id: dispenseId, state };
      }
      stuck.push({
        orderViewId,
        state: record.state,
        kind,
        machineCode: record.machineCode,
        acceptedAt: record.acceptedAt,
        ageMs: now - record.acceptedAt,
        job: moving,
      });
    }
    return stuck;
  }

  /**
   * Puts every listed order back on its way. Dead callbacks are left alone unless
   * `includeDead` (a dead letter is replayed on purpose: `callback:replay`).
   */
  async repair(
    orders: readonly StuckOrder[],
    options: { includeDead?: boolean } = {},
  ): Promise<RepairAction[]> {
    const { store, producer } = this.options;
    const actions: RepairAction[] = [];
    for (const order of orders) {
      if (order.kind === 'dead' && !options.includeDead) continue;
      if (order.kind === 'unreported' && order.job.queue === 'dispense') {
        // its dispense job, unfinished when listed, carries the callback: the next sweep looks again
        actions.push({
          orderViewId: order.orderViewId,
          kind: order.kind,
          action: 'none',
          jobId: order.job.id,
        });
        continue;
      }
      if (order.kind === 'dead') await store.revive(order.orderViewId);
      const queue = producer.queue(order.job.queue);
      const enqueue = async (): Promise<void> => {
        if (order.job.queue === 'dispense') {
          await producer.enqueue(
            'order.dispense',
            { orderViewId: order.orderViewId, machineCode: order.machineCode },
            { jobId: order.job.id },
          );
        } else {
          await enqueueCallback(producer, order.orderViewId, order.job.id);
        }
      };
      const job = await queue.getJob(order.job.id);
      let action: RepairAction['action'] = 'none';
      if (!job) {
        // its hash may have vanished with its id still queued: that entry would run it twice;
        // while a worker still runs it, its end clears it, and the next sweep re-creates it
        if ((await producer.forgetVanished(order.job.queue, order.job.id)) !== 'held') {
          await enqueue();
          action = 'enqueued';
        }
      } else {
        const state = await job.getState();
        // a job whose hash vanished comes back without name or data: retrying it runs nothing
        const hollow = !job.name;
        if (state === 'failed' && !hollow) {
          await job.retry('failed', { resetAttemptsMade: true });
          action = 'retried';
        } else if (state === 'completed' || state === 'unknown' || (state === 'failed' && hollow)) {
          // finished without moving the order on: replace it
          await job.remove();
          await enqueue();
          action = 'replaced';
        }
      }
      if (order.kind === 'dead' && action === 'none') action = 'revived';
      actions.push({ orderViewId: order.orderViewId, kind: order.kind, action, jobId: order.job.id });
    }
    return actions;
  }

  /** One sweep: list, publish the gauge, log, repair what is missing or failed (never dead letters). */
  async sweep(now = Date.now()): Promise<{ stuck: StuckOrder[]; actions: RepairAction[] }> {
    const stuck = await this.list(this.options.stuckAfterMs, now);
    for (const kind of KINDS)
      this.options.metrics.stuck.set({ kind }, stuck.filter((o) => o.kind === kind).length);
    for (const order of stuck.slice(0, 20)) {
      this.options.logger.warn(
        {
          orderViewId: order.orderViewId,
          machineCode: order.machineCode,
          state: order.state,
          ageMs: order.ageMs,
          job: order.job,
        },
        'order open past STUCK_ORDER_AFTER_MS',
      );
    }
    const actions = (await this.repair(stuck)).filter((a) => a.action !== 'none');
    for (const action of actions) this.options.logger.warn(action, 'stuck order repaired');
    return { stuck, actions };
  }
}
