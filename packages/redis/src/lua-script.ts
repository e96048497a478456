import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ScriptDefinition } from './scripts.js';

const include = /^---\s*@include\s+"([^"]+)"\s*$/gm;

/**
 * A Lua script kept in its own file, the way BullMQ keeps them: `<name>-<numberOfKeys>.lua`,
 * opening with a comment that names its KEYS, ARGV and what it returns; `<name>-n.lua` when the
 * number of keys varies from call to call (its callers pass the count first). A line
 * `--- @include "<path>"` (relative to the script's folder, `.lua` implied) is replaced by that
 * file, once per script however often it is named, so shared pieces are included, not pasted.
 *
 * The file is read when this is called (at start-up, by whoever defines the scripts): keep the
 * `.lua` files in a `lua/` folder beside the package's `src/`, so `new URL('../lua/x-1.lua',
 * import.meta.url)` finds them from `src/` (tests, `@owc/source`) and `dist/` alike.
 */
export function luaScript<R = unknown>(file: URL, result?: (raw: unknown) => R): ScriptDefinition<R> {
  const path = fileURLToPath(file);
  const keys = /-(\d+|n)\.lua$/.exec(basename(path));
  if (!keys?.[1])
    throw new Error(`${path}: a script file is named <name>-<numberOfKeys>.lua (or <name>-n.lua)`);
  const lua = expand(path, new Set([path]));
  return { numberOfKeys: keys[1] === 'n' ? undefined : Number(keys[1]), lua, ...(result ? { result } : {}) };
}

function expand(path: string, seen: Set<string>): string {
  return readFileSync(path, 'utf8').replace(include, (_line, name: string) => {
    const target = join(dirname(path), name.endsWith('.lua') ? name : `${name}.lua`);
    if (seen.has(target)) return '';
    seen.add(target);
    return expand(target, seen);
  });
}
