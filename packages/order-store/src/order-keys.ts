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
    /** the console's search: every order by acceptance time (ms) */
    byTime: taggedKey(prefix, 'orders', 'by-time'),
  };
}

/** The console's search index of one machine's orders, by acceptance time (ms). */
export function machineIndexKey(prefix: string, machineCode: string): string {
  return taggedKey(prefix, 'orders', 'by-machine', machineCode);
}
