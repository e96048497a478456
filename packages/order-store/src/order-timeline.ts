import type { RedisClient } from '@owc/redis';
import { z } from 'zod';
import { indexKeys, machineIndexKey, orderKeys } from './order-keys.js';

/** One step in an order's life, as the operator's order page and the jobs' Logs tab show it. */
export const timelineEventSchema = z.discriminatedUnion('e', [
  z.object({ e: z.literal('accepted'), at: z.number() }),
  /** one vend round of a unit: its outcome (success, failed: reason, retry later: reason, lease lost) */
  z.object({
    e: z.literal('vend'),
    at: z.number(),
    unit: z.number(),
    vendId: z.string(),
    answer: z.string(),
  }),
  z.object({ e: z.literal('final'), at: z.number(), outStatus: z.number() }),
  /** one delivery of the callback and owitho's answer */
  z.object({ e: z.literal('callback'), at: z.number(), attempt: z.number(), answer: z.string() }),
  z.object({ e: z.literal('callback-replay'), at: z.number(), jobId: z.string() }),
]);
export type TimelineEvent = z.infer<typeof timelineEventSchema>;

/** One line of text for an event (what job.log writes and the page shows). */
export function describeEvent(event: TimelineEvent): string {
  const at = new Date(event.at).toISOString();
  switch (event.e) {
    case 'accepted':
      return `${at} accepted`;
    case 'vend':
      return `${at} unit ${event.unit} (${event.vendId}) vend: ${event.answer}`;
    case 'final':
      return `${at} final: outStatus ${event.outStatus}`;
    case 'callback':
      return `${at} callback attempt ${event.attempt}: ${event.answer}`;
    case 'callback-replay':
      return `${at} callback replay enqueued (job ${event.jobId})`;
  }
}

export interface OrderTimelineOptions {
  redis: RedisClient;
  keyPrefix: string;
  /** how long a timeline and the search indexes keep an order (ORDER_TTL_MS) */
  ttlMs: number;
  /** the most events kept per order (the oldest dropped first) */
  maxEvents: number;
  now?: () => number;
}

export interface OrderSearch {
  machineCode?: string;
  /** ms epoch, inclusive */
  since?: number;
  until?: number;
  limit: number;
}

/**
 * An order's timeline, kept apart from the order record (which stays small): a capped Redis
 * list `…{order:<id>}:timeline` of compact JSON events that expires with the order, plus two
 * search indexes by acceptance time (all orders, and per machine), trimmed to the TTL on write.
 */
export class OrderTimeline {
  private readonly now: () => number;

  constructor(private readonly options: OrderTimelineOptions) {
    this.now = options.now ?? Date.now;
  }

  private key(orderViewId: string): string {
    return orderKeys(this.options.keyPrefix, orderViewId).timeline;
  }

  private indexKey(machineCode?: string): string {
    return machineCode === undefined
      ? indexKeys(this.options.keyPrefix).byTime
      : machineIndexKey(this.options.keyPrefix, machineCode);
  }

  async append(orderViewId: string, event: TimelineEvent): Promise<void> {
    const key = this.key(orderViewId);
    await this.options.redis
      .pipeline()
      .rpush(key, JSON.stringify(event))
      .ltrim(key, -this.options.maxEvents, -1)
      .pexpire(key, this.options.ttlMs)
      .exec();
  }

  /**
   * The order's events, oldest first. `accepted` is the record's acceptance time: the ingress
   * indexes the order when it accepts it and writes no event (an order accepted before that wrote
   * one into the list, and keeps it).
   */
  async read(orderViewId: string): Promise<TimelineEvent[]> {
    const keys = orderKeys(this.options.keyPrefix, orderViewId);
    // one round trip: same hash tag
    const [raw, acceptedAt] = await Promise.all([
      this.options.redis.lrange(keys.timeline, 0, -1),
      this.options.redis.hget(keys.record, 'acceptedAt'),
    ]);
    const events = raw.flatMap((line) => {
      const parsed = timelineEventSchema.safeParse(JSON.parse(line));
      return parsed.success ? [parsed.data] : [];
    });
    if (acceptedAt && !events.some((event) => event.e === 'accepted'))
      events.unshift({ e: 'accepted', at: Number(acceptedAt) });
    return events;
  }

  /**
   * Makes the order findable by time and machine; true the first time (so the caller writes
   * `accepted` once). Entries older than the TTL are dropped from both indexes here.
   */
  async index(orderViewId: string, machineCode: string, acceptedAt: number): Promise<boolean> {
    const oldest = this.now() - this.options.ttlMs;
    const results = await Promise.all(
      [this.indexKey(), this.indexKey(machineCode)].map(async (key) => {
        const [added] = await Promise.all([
          this.options.redis.zadd(key, 'NX', acceptedAt, orderViewId),
          this.options.redis.zremrangebyscore(key, '-inf', `(${oldest}`),
        ]);
        return Number(added);
      }),
    );
    return results[0] === 1;
  }

  /** orderViewIds accepted in the range (newest first), of one machine or of all. */
  async search(query: OrderSearch): Promise<{ orderViewId: string; acceptedAt: number }[]> {
    const raw = await this.options.redis.zrevrangebyscore(
      this.indexKey(query.machineCode),
      query.until ?? '+inf',
      query.since ?? '-inf',
      'WITHSCORES',
      'LIMIT',
      0,
      query.limit,
    );
    const found: { orderViewId: string; acceptedAt: number }[] = [];
    for (let i = 0; i + 1 < raw.length; i += 2) {
      found.push({ orderViewId: raw[i] as string, acceptedAt: Number(raw[i + 1]) });
    }
    return found;
  }
}
