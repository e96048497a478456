// Readers of script answers: each checks what Redis returned and gives it its type, so a
// script that answers something unexpected fails loudly instead of being cast.

import { ScriptResultError } from './errors/script-result-error.js';

/** An integer reply (a Lua number; `false`/nil is not one). */
export function integerResult(raw: unknown): number {
  if (typeof raw !== 'number' || !Number.isInteger(raw)) throw new ScriptResultError('an integer', raw);
  return raw;
}

/** A bulk string reply. */
export function stringResult(raw: unknown): string {
  if (typeof raw !== 'string') throw new ScriptResultError('a string', raw);
  return raw;
}

/** A bulk string reply, or nil (Lua `false`). */
export function optionalStringResult(raw: unknown): string | undefined {
  if (raw === null || raw === undefined) return undefined;
  return stringResult(raw);
}

/** One of the named outcomes a script returns (`'created' | 'duplicate' | …`). */
export function oneOfResult<const T extends readonly string[]>(outcomes: T): (raw: unknown) => T[number] {
  return (raw) => {
    if (typeof raw === 'string' && (outcomes as readonly string[]).includes(raw)) return raw as T[number];
    throw new ScriptResultError(`one of ${outcomes.join(', ')}`, raw);
  };
}

/** A multi-bulk reply of strings and integers, read as strings. */
export function stringsResult(raw: unknown): string[] {
  if (!Array.isArray(raw)) throw new ScriptResultError('an array', raw);
  return raw.map((item) => {
    if (typeof item === 'string') return item;
    if (typeof item === 'number') return String(item);
    throw new ScriptResultError('an array of strings', raw);
  });
}
