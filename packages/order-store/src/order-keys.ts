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
 * The console's search indexes: append-only logs of `<offset><orderViewId>RS` (the acceptance
 * time's offset in its bucket, base 36, fixed width; RS = 0x1e, which no id holds), one string per
 * hour for all orders and per machine and day, each expiring ORDER_TTL_MS after its bucket ends.
 * A few bytes per order, where a sorted set entry costs ~130. The widths are part of the layout:
 * changing them would lose the buckets already written.
 */
export const SEARCH_BUCKETS = {
  all: { ms: 3_600_000, offsetWidth: 5 },
  machine: { ms: 86_400_000, offsetWidth: 6 },
} as const;

/** What ends an entry of a search log (RS, 0x1e). */
export const SEARCH_ENTRY_END = '\u001e';

/** The search bucket of all orders (machineCode undefined) or of a machine, by bucket number. */
export function searchBucketKey(prefix: string, bucket: number, machineCode?: string): string {
  return machineCode === undefined
    ? taggedKey(prefix, 'orders', 'hour', String(bucket))
    : taggedKey(prefix, 'orders', 'machine-day', String(bucket), machineCode);
}
