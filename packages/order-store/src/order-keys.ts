import { taggedKey } from '@owc/redis';

/**
 * Keys of one order share the hash tag `order:<orderViewId>`, so the scripts that touch the
 * record and its units together work on Redis Cluster. Indexes across orders live under their
 * own tags and are only ever updated by single-key commands.
 */
export function orderKeys(prefix: string, orderViewId: string) {
  const tag = `order:${orderViewId}`;
  return { record: taggedKey(prefix, tag, 'record'), units: taggedKey(prefix, tag, 'units') };
}

export function indexKeys(prefix: string) {
  return {
    /** orders not yet reported, scored by acceptance time (ms) */
    open: taggedKey(prefix, 'orders', 'open'),
    /** orders whose callback was given up on (dead-lettered) */
    dead: taggedKey(prefix, 'orders', 'dead'),
    /** counters for the progress summary and metrics */
    stats: taggedKey(prefix, 'orders', 'stats'),
  };
}
