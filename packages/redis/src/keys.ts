/**
 * Key naming. Every key of ours starts with the deployment's KEY_PREFIX, and the part in
 * braces is the Redis Cluster hash tag: keys that a script touches together share one tag,
 * and nothing else does, so the data spreads over the cluster's slots.
 */
export function taggedKey(prefix: string, tag: string, ...parts: string[]): string {
  let key = `${prefix}:{${tag}}`;
  for (const part of parts) key += `:${part}`;
  return key;
}

/** The hash tag of a key (what Redis Cluster hashes), or the whole key when it has none. */
export function hashTagOf(key: string): string {
  const open = key.indexOf('{');
  if (open === -1) return key;
  const close = key.indexOf('}', open + 1);
  if (close === -1 || close === open + 1) return key;
  return key.slice(open + 1, close);
}
