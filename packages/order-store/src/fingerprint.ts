import { hash } from 'node:crypto';

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
    // the default sort compares UTF-16 code units, as `a < b` does
    const keys = Object.keys(object).sort();
    let out = '{';
    for (const key of keys) {
      const v = object[key];
      if (v === undefined) continue;
      out += `${out.length > 1 ? ',' : ''}${JSON.stringify(key)}:${canonicalJson(v)}`;
    }
    return `${out}}`;
  }
  return JSON.stringify(value);
}

export function fingerprint(value: unknown): string {
  return hash('sha256', canonicalJson(value), 'hex');
}
