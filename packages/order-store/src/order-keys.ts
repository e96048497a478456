import { taggedKey } from '@owc/redis';

/**
 * Keys of one order share the hash tag `order:<orderViewId>`, so the scripts that touch the
 * record and its units together work on Redis Cluster. Indexes across orders live under their
 * own tags and are only ever updated by single-key commands.
 */
export function orderKeys(prefix: string, orderViewId: string) {
  const tag = `order:${orderViewId}`;
  return {
    record: taggedKey(prefix, tag, 'record'),
    units: taggedKey(prefix, tag, 'units'),
    /** the order's timeline (OrderTimeline): a capped list of events */
    timeline: taggedKey(prefix, tag, 'timeline'),
  };
}

export function indexKeys(prefix: string) {
  return {
    /** orders not yet reported, scored by acceptance time (ms) */
    open: taggedKey(prefix, 'orders', 'open'),
    /** orders whose callback was given up on (dead-lettered) */
    dead: taggedKey(prefix, 'orders', 'dead'),
    /** counters for the progress summary and metrics */
    stats: taggedKey(prefix, 'orders', 'stats'),
    /**
     * the console's search index of every order by acceptance time as the previous layout kept
     * it (a sorted set): still read and trimmed until ORDER_TTL_MS after the upgrade, no longer
     * written (see searchBuckets)
     */
    byTime: taggedKey(prefix, 'orders', 'by-time'),
  };
}

/** The previous layout's search index of one machine's orders (a sorted set; see `byTime`). */
export function machineIndexKey(prefix: string, machineCode: string): string {
  return taggedKey(prefix, 'orders', 'by-machine', machineCode);
}

/**
 * The console's search indexes, append-only strings, each expiring ORDER_TTL_MS after its bucket
 * ends: a log per hour of every order accepted in it, entries `<offset><orderViewId>RS` (the
 * acceptance time's offset in the hour, base 36, 5 characters; RS = 0x1e, which no id holds); and
 * per machine and day, for each of its orders a reference to that entry, `<hour><position>` (the
 * hour of the day, one base-36 character, and where the entry starts in the hour's log, 6), 7 bytes
 * whatever the id's length. A few bytes more than the id per order, where two sorted-set entries
 * cost ~130. The widths are part of the layout: changing them would lose the logs already written.
 */
export const SEARCH_LOGS = {
  hour: { ms: 3_600_000, offsetWidth: 5 },
  machineDay: { ms: 86_400_000, refWidth: 7, positionWidth: 6 },
} as const;

/** What ends an entry of an hour's log (RS, 0x1e). */
export const SEARCH_ENTRY_END = '\u001e';

/** The search log of every order accepted in an hour (by hour number since the epoch). */
export function hourLogKey(prefix: string, hour: number): string {
  return taggedKey(prefix, 'orders', 'hour', String(hour));
}

/** The search log of a machine's orders accepted in a day (by day number since the epoch). */
export function machineDayLogKey(prefix: string, day: number, machineCode: string): string {
  return taggedKey(prefix, 'orders', 'machine-day', String(day), machineCode);
}
