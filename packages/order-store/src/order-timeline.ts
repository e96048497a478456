import { vendIdOf } from '@owc/protocol';
import { defineScripts, type RedisClient, type ScriptCalls } from '@owc/redis';
import { z } from 'zod';
import {
  hourLogKey,
  indexKeys,
  machineDayLogKey,
  machineIndexKey,
  orderKeys,
  SEARCH_ENTRY_END,
  SEARCH_LOGS,
} from './order-keys.js';
import { isWrongType, unpackOrder } from './order-packed.js';
import { ORDER_SCRIPTS } from './order-scripts.js';

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

/**
 * An event as the timeline list stores it: a JSON array, the kind's letter first — a third of the
 * object form's bytes, kept for ORDER_TTL_MS per order. A vend's `vendId` is left out when it is
 * the unit's own (`<orderViewId>-<unit>`); `accepted` is not stored (the record has the time).
 * Events stored as objects (before this form) are still read.
 */
const storedEventSchema = z.union([
  z.tuple([z.literal('a'), z.number()]),
  z.tuple([z.literal('v'), z.number(), z.number(), z.string()]).rest(z.string()),
  z.tuple([z.literal('f'), z.number(), z.number()]),
  z.tuple([z.literal('c'), z.number(), z.number(), z.string()]),
  z.tuple([z.literal('r'), z.number(), z.string()]),
]);

function storedEvent(orderViewId: string, event: TimelineEvent): unknown[] {
  switch (event.e) {
    case 'accepted':
      return ['a', event.at];
    case 'vend':
      return event.vendId === vendIdOf(orderViewId, event.unit)
        ? ['v', event.at, event.unit, event.answer]
        : ['v', event.at, event.unit, event.answer, event.vendId];
    case 'final':
      return ['f', event.at, event.outStatus];
    case 'callback':
      return ['c', event.at, event.attempt, event.answer];
    case 'callback-replay':
      return ['r', event.at, event.jobId];
  }
}

/** A packed record's events; undefined when it cannot be read (the order's page says so). */
function packedEvents(
  orderViewId: string,
  value: string,
): { acceptedAt: number; events: TimelineEvent[] } | undefined {
  try {
    return unpackOrder(orderViewId, value);
  } catch {
    return undefined;
  }
}

/** A list entry as an event; undefined for one that cannot be read (left out, not thrown). */
function readLine(orderViewId: string, line: string): TimelineEvent | undefined {
  try {
    return readEvent(orderViewId, JSON.parse(line));
  } catch {
    return undefined;
  }
}

function readEvent(orderViewId: string, raw: unknown): TimelineEvent | undefined {
  if (!Array.isArray(raw)) {
    const parsed = timelineEventSchema.safeParse(raw);
    return parsed.success ? parsed.data : undefined;
  }
  const parsed = storedEventSchema.safeParse(raw);
  if (!parsed.success) return undefined;
  const stored = parsed.data;
  switch (stored[0]) {
    case 'a':
      return { e: 'accepted', at: stored[1] };
    case 'v':
      return {
        e: 'vend',
        at: stored[1],
        unit: stored[2],
        vendId: stored[4] ?? vendIdOf(orderViewId, stored[2]),
        answer: stored[3],
      };
    case 'f':
      return { e: 'final', at: stored[1], outStatus: stored[2] };
    case 'c':
      return { e: 'callback', at: stored[1], attempt: stored[2], answer: stored[3] };
    case 'r':
      return { e: 'callback-replay', at: stored[1], jobId: stored[2] };
  }
}

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
 * How many search logs one search reads per round trip: 2 at first (an hour's log of a busy
 * connector is megabytes, and the newest often suffice), doubling up to 32 while more are needed.
 */
const SEARCH_LOGS_FIRST_READ = 2;
const SEARCH_LOGS_MAX_READ = 32;

/** The most bytes an hour log's entry takes (offset, an id of 128 UTF-16 units in UTF-8, end). */
const ENTRY_MAX_BYTES = SEARCH_LOGS.hour.offsetWidth + 3 * 128 + 1;

interface Found {
  orderViewId: string;
  acceptedAt: number;
}

/** An hour log's entry (`<offset><orderViewId>RS…`: what follows the first RS is ignored). */
function hourEntry(text: string, hourStart: number): Found | undefined {
  const end = text.indexOf(SEARCH_ENTRY_END);
  const entry = end === -1 ? text : text.slice(0, end);
  const offset = Number.parseInt(entry.slice(0, SEARCH_LOGS.hour.offsetWidth), 36);
  const orderViewId = entry.slice(SEARCH_LOGS.hour.offsetWidth);
  if (Number.isNaN(offset) || orderViewId === '') return undefined;
  return { orderViewId, acceptedAt: hourStart + offset };
}

/** An hour log's entries; an entry that cannot be read is left out. */
function hourEntries(log: string, hourStart: number): Found[] {
  return log.split(SEARCH_ENTRY_END).flatMap((entry) => hourEntry(entry, hourStart) ?? []);
}

/** A machine's day log: where its orders' entries are (hour number, position in that hour's log). */
function machineRefs(log: string, day: number): { hour: number; position: number }[] {
  const { refWidth } = SEARCH_LOGS.machineDay;
  const refs: { hour: number; position: number }[] = [];
  for (let i = 0; i + refWidth <= log.length; i += refWidth) {
    const hour = Number.parseInt(log.charAt(i), 36);
    const position = Number.parseInt(log.slice(i + 1, i + refWidth), 36);
    if (!Number.isNaN(hour) && !Number.isNaN(position)) refs.push({ hour: day * 24 + hour, position });
  }
  return refs;
}

/**
 * An order's timeline: while the order is on its way a capped Redis list
 * `…{order:<id>}:timeline` of compact JSON events (arrays: see storedEventSchema) that expires with
 * the order; once it is reported, folded into its packed record (order-packed.ts). And the
 * console's search over the logs the ingress writes at accept (OrderStore.bookAccepted).
 */
export class OrderTimeline {
  private readonly now: () => number;
  private readonly scripts: ScriptCalls<typeof ORDER_SCRIPTS>;

  constructor(private readonly options: OrderTimelineOptions) {
    this.now = options.now ?? Date.now;
    this.scripts = defineScripts(options.redis, ORDER_SCRIPTS);
  }

  private legacyIndexKey(machineCode?: string): string {
    return machineCode === undefined
      ? indexKeys(this.options.keyPrefix).byTime
      : machineIndexKey(this.options.keyPrefix, machineCode);
  }

  /**
   * Adds events: to the order's list while it is on its way (capped at maxEvents, the oldest
   * dropped), into its packed record once it is reported (no more than maxEvents in all).
   */
  /** The most events kept per order. */
  get maxEvents(): number {
    return this.options.maxEvents;
  }

  /** Events in the form the order's list holds them (for `OrderStore.markReported`). */
  encode(orderViewId: string, events: readonly TimelineEvent[]): string[] {
    return events.map((event) => JSON.stringify(storedEvent(orderViewId, event)));
  }

  async append(orderViewId: string, ...events: TimelineEvent[]): Promise<void> {
    if (events.length === 0) return;
    const keys = orderKeys(this.options.keyPrefix, orderViewId);
    await this.scripts.owcTimelineAppend(
      keys.record,
      keys.timeline,
      this.options.ttlMs,
      this.options.maxEvents,
      orderViewId,
      ...this.encode(orderViewId, events),
    );
  }

  /**
   * The order's events, oldest first. `accepted` is the record's acceptance time: the ingress
   * indexes the order when it accepts it and writes no event (an order accepted before that wrote
   * one into the list, and keeps it).
   */
  async read(orderViewId: string): Promise<TimelineEvent[]> {
    const keys = orderKeys(this.options.keyPrefix, orderViewId);
    const { redis } = this.options;
    // one round trip: same hash tag
    const [raw, acceptedAt] = await Promise.all([
      redis.lrange(keys.timeline, 0, -1),
      redis.hget(keys.record, 'acceptedAt').catch((error: unknown) => {
        if (isWrongType(error)) return undefined;
        throw error;
      }),
    ]);
    const events = raw.flatMap((line) => {
      const event = readLine(orderViewId, line);
      return event ? [event] : [];
    });
    if (acceptedAt === undefined) {
      // reported: the events are packed into the record (a list beside it holds what an older
      // worker may have written after the report)
      const value = await redis.get(keys.record);
      const packed = value === null ? undefined : packedEvents(orderViewId, value);
      if (packed) events.unshift(...packed.events);
      if (packed && !events.some((event) => event.e === 'accepted'))
        events.unshift({ e: 'accepted', at: packed.acceptedAt });
    }
    if (acceptedAt && !events.some((event) => event.e === 'accepted'))
      events.unshift({ e: 'accepted', at: Number(acceptedAt) });
    // writers batch their events (a dispense run's are written when it ends), so the list's
    // order is not always the order things happened in; a stable sort keeps equal times as written
    return events.sort((a, b) => a.at - b.at);
  }

  /**
   * The logs of a range's buckets, newest first (a bucket ahead of now too: another pod's clock
   * may run ahead), each a promise, read a few per round trip as they are reached (2, then twice as
   * many each time, up to 32).
   */
  private *logsNewestFirst(
    range: { since: number; until: number },
    bucketMs: number,
    keyOf: (n: number) => string,
  ): Generator<[number, Promise<string>]> {
    const now = this.now();
    const newest = Math.floor(Math.min(range.until, now + bucketMs) / bucketMs);
    const oldest = Math.floor(Math.max(range.since, now - this.options.ttlMs - bucketMs) / bucketMs);
    let size = SEARCH_LOGS_FIRST_READ;
    for (
      let first = newest;
      first >= oldest;
      first -= size, size = Math.min(2 * size, SEARCH_LOGS_MAX_READ)
    ) {
      const numbers: number[] = [];
      for (let n = first; n > first - size && n >= oldest; n--) numbers.push(n);
      const pipeline = this.options.redis.pipeline();
      for (const n of numbers) pipeline.get(keyOf(n));
      const replies = pipeline.exec();
      for (const [i, n] of numbers.entries()) {
        const log = replies.then((all) => {
          const [error, value] = all?.[i] ?? [];
          if (error) throw error;
          return typeof value === 'string' ? value : '';
        });
        log.catch(() => undefined); // awaited by the caller when reached
        yield [n, log];
      }
    }
  }

  /** A machine's references to hour-log entries, read (one GETRANGE each, one round trip). */
  private async resolve(
    refs: { hour: number; position: number }[],
    range: { since: number; until: number },
  ): Promise<Found[]> {
    const { hour } = SEARCH_LOGS;
    const wanted = refs.filter(
      (ref) => (ref.hour + 1) * hour.ms > range.since && ref.hour * hour.ms <= range.until,
    );
    if (wanted.length === 0) return [];
    const pipeline = this.options.redis.pipeline();
    for (const ref of wanted)
      pipeline.getrange(
        hourLogKey(this.options.keyPrefix, ref.hour),
        ref.position,
        ref.position + ENTRY_MAX_BYTES - 1,
      );
    const replies = (await pipeline.exec()) ?? [];
    return wanted.flatMap((ref, i) => {
      const [error, value] = replies[i] ?? [];
      if (error) throw error;
      return hourEntry(typeof value === 'string' ? value : '', ref.hour * hour.ms) ?? [];
    });
  }

  /**
   * orderViewIds accepted in the range (newest first), of one machine or of all: the search logs
   * (SEARCH_LOGS) read newest first, a few per round trip, until `limit` are found or the range (at
   * most ORDER_TTL_MS back) is done; then the previous layout's sorted set, which holds orders
   * indexed before the upgrade. An order indexed twice (a duplicate notice) is listed once.
   */
  async search(query: OrderSearch): Promise<Found[]> {
    const { redis } = this.options;
    const range = {
      since: query.since ?? Number.NEGATIVE_INFINITY,
      until: query.until ?? Number.POSITIVE_INFINITY,
    };
    const found: Found[] = [];
    const seen = new Set<string>();
    const add = (entries: Found[]) => {
      for (const entry of entries
        .filter((e) => e.acceptedAt >= range.since && e.acceptedAt <= range.until)
        .sort((a, b) => b.acceptedAt - a.acceptedAt)) {
        if (found.length >= query.limit) return;
        if (seen.has(entry.orderViewId)) continue;
        seen.add(entry.orderViewId);
        found.push(entry);
      }
    };
    const logKey = (n: number) =>
      query.machineCode === undefined
        ? hourLogKey(this.options.keyPrefix, n)
        : machineDayLogKey(this.options.keyPrefix, n, query.machineCode);
    const bucketMs = query.machineCode === undefined ? SEARCH_LOGS.hour.ms : SEARCH_LOGS.machineDay.ms;
    for (const [n, log] of this.logsNewestFirst(range, bucketMs, logKey)) {
      if (found.length >= query.limit) break;
      add(
        query.machineCode === undefined
          ? hourEntries(await log, n * bucketMs)
          : await this.resolve(machineRefs(await log, n), range),
      );
    }
    const legacy = await redis.zrevrangebyscore(
      this.legacyIndexKey(query.machineCode),
      query.until ?? '+inf',
      query.since ?? '-inf',
      'WITHSCORES',
      'LIMIT',
      0,
      query.limit,
    );
    for (let i = 0; i + 1 < legacy.length; i += 2) {
      const orderViewId = legacy[i] as string;
      if (seen.has(orderViewId)) continue;
      seen.add(orderViewId);
      found.push({ orderViewId, acceptedAt: Number(legacy[i + 1]) });
    }
    return found.sort((a, b) => b.acceptedAt - a.acceptedAt).slice(0, query.limit);
  }
}
