import { hash } from 'node:crypto';

/** An object's keys in canonical order, each with its JSON text. */
type SortedKeys = readonly { key: string; json: string }[];

/**
 * The key lists seen last, each with its sorted form: the objects fingerprinted are a few shapes
 * over and over (a notice, its lines), so their keys are sorted once, not per call. A list is
 * reused only when it is the same keys in the same order.
 */
const recent: { keys: string[]; sorted: SortedKeys }[] = [];
const RECENT = 8;

function sortedKeys(keys: string[]): SortedKeys {
  for (const entry of recent) {
    const known = entry.keys;
    if (known.length !== keys.length) continue;
    let same = true;
    for (let i = 0; i < keys.length && same; i++) same = known[i] === keys[i];
    if (same) return entry.sorted;
  }
  // the default sort compares UTF-16 code units, as `a < b` does
  const sorted = [...keys].sort().map((key) => ({ key, json: JSON.stringify(key) }));
  recent.unshift({ keys, sorted });
  if (recent.length > RECENT) recent.pop();
  return sorted;
}

/** JSON with object keys sorted at every level, so the same notice always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) {
    let out = '[';
    // an element JSON cannot carry (undefined) is left empty, as Array.prototype.join does
    for (let i = 0; i < value.length; i++) out += (i > 0 ? ',' : '') + (canonicalJson(value[i]) ?? '');
    return `${out}]`;
  }
  if (value !== null && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    let out = '{';
    for (const { key, json } of sortedKeys(Object.keys(object))) {
      const v = object[key];
      if (v === undefined) continue;
      out += `${out.length > 1 ? ',' : ''}${json}:${canonicalJson(v)}`;
    }
    return `${out}}`;
  }
  return JSON.stringify(value);
}

export function fingerprint(value: unknown): string {
  return hash('sha256', canonicalJson(value), 'hex');
}
