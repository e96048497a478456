// An order's writes to the order store and its timeline, as the ingress and the worker make them
// (without BullMQ and HTTP), and what they leave in Redis once the order is reported.
import { OrderStore, OrderTimeline, orderKeys, type TimelineEvent } from '@owc/order-store';
import { flattenOrder, type OrderNotice } from '@owc/protocol';
import { taggedKey } from '@owc/redis';
import type { Redis } from 'ioredis';
import { round } from './report.js';

const DAY = 24 * 3600 * 1000;

/**
 * How long an order's steps take, as with a real machine and owitho: each vend, and from the final
 * result to owitho's 200. The life does not wait: each order keeps its own clock, which the store
 * and the timeline events read, so the times it stores (as differences, in the packed record) are
 * as long as real ones.
 */
const VEND_MS = 3_000;
const CALLBACK_MS = 800;

/** Returns a function that takes one order through its whole life (accepted … reported). */
export function lifeOfAnOrder(redis: Redis, prefix: string): (notice: OrderNotice) => Promise<void> {
  const timeline = new OrderTimeline({ redis, keyPrefix: prefix, ttlMs: 30 * DAY, maxEvents: 100 });
  return async (notice) => {
    let clock = Date.now();
    const store = new OrderStore({ redis, keyPrefix: prefix, ttlMs: 30 * DAY, now: () => clock });
    const id = notice.orderViewId;
    // the ingress
    const accepted = await store.accept(notice);
    if (accepted.outcome !== 'created') throw new Error(`${id}: ${accepted.outcome}`);
    await store.bookAccepted(notice, accepted.outcome, true);
    // the dispense job
    clock += 40;
    const units = flattenOrder(notice);
    // the run's events are written together (TimelineWriter.run) with the first callback
    // delivery's, which the dispense job makes itself once the order is final
    // (CALLBACK_FIRST_DELIVERY=inline, the default), before it marks the order reported
    const events: TimelineEvent[] = [];
    let last: { index: number; result: { status: 'success' } } | undefined;
    for (const unit of units) {
      await store.step(id, last, unit.index);
      clock += VEND_MS;
      events.push({ e: 'vend', at: clock, unit: unit.index, vendId: unit.vendId, answer: 'success' });
      last = { index: unit.index, result: { status: 'success' } };
    }
    const final = await store.finalizeWith(
      id,
      units,
      units.map(() => 'success' as const),
      last,
    );
    if (!final) throw new Error(`${id}: not final`);
    events.push({ e: 'final', at: clock, outStatus: final.result.outStatus });
    clock += CALLBACK_MS;
    events.push({ e: 'callback', at: clock, attempt: 1, answer: 'ok: owitho answered 200' });
    await timeline.append(id, ...events);
    await store.markReported(id);
  };
}

async function usage(redis: Redis, key: string): Promise<number> {
  return Number((await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
}

async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found;
}

/**
 * MEMORY USAGE per order, by kind of key: the order's own keys averaged over a sample of `ids`,
 * the shared indexes (by time, by machine, open, dead) divided by the number of orders.
 */
export async function orderMemory(
  redis: Redis,
  prefix: string,
  ids: readonly string[],
  sample: number,
): Promise<Record<string, number>> {
  const step = Math.max(1, Math.floor(ids.length / sample));
  const picked = ids.filter((_, i) => i % step === 0);
  const own = { record: 0, units: 0, timeline: 0 };
  for (const id of picked) {
    const keys = orderKeys(prefix, id);
    own.record += await usage(redis, keys.record);
    own.units += await usage(redis, keys.units);
    own.timeline += await usage(redis, taggedKey(prefix, `order:${id}`, 'timeline'));
  }
  const indexKeys = await scanKeys(redis, `${prefix}:{orders}:*`);
  let indexes = 0;
  for (const key of indexKeys) if (!key.endsWith(':stats')) indexes += await usage(redis, key);
  const figures: Record<string, number> = {
    record: round(own.record / picked.length, 0),
    units: round(own.units / picked.length, 0),
    timeline: round(own.timeline / picked.length, 0),
    indexes: round(indexes / ids.length, 0),
  };
  figures.total = Object.values(figures).reduce((a, b) => a + b, 0);
  return figures;
}
