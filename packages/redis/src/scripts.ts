import type { RedisClient } from './connection.js';

/**
 * A Lua script and how to read its answer. `result` turns what Redis returned into the typed
 * value callers get (see `./script-results.ts`), so no caller casts.
 */
export interface ScriptDefinition<R = unknown> {
  /** undefined: the count varies, and each call passes it before the keys */
  numberOfKeys: number | undefined;
  lua: string;
  result?: (raw: unknown) => R;
}

/** Calls a defined script: keys first, then arguments (a script of varying key count: the count first). */
export type ScriptCall<R = unknown> = (...keysThenArgs: (string | number)[]) => Promise<R>;

/** The callers `defineScripts` returns, typed by each definition's `result`. */
export type ScriptCalls<D extends Record<string, ScriptDefinition<unknown>>> = {
  [K in keyof D]: ScriptCall<D[K] extends ScriptDefinition<infer R> ? R : unknown>;
};

type RawCommand = (...args: (string | number)[]) => Promise<unknown>;

/**
 * Defines each Lua script on the connection once (ioredis runs it by EVALSHA, loading it when
 * Redis does not know it yet) and returns a caller per name. Names are global to the connection:
 * give them a prefix of the component that owns them. Scripts kept in `.lua` files are read
 * with `luaScript` (./lua-script.ts).
 */
export function defineScripts<D extends Record<string, ScriptDefinition<unknown>>>(
  redis: RedisClient,
  scripts: D,
): ScriptCalls<D> {
  const callers: Partial<Record<keyof D, ScriptCall<unknown>>> = {};
  for (const name of Object.keys(scripts) as (keyof D & string)[]) {
    const definition = scripts[name];
    if (!definition) continue;
    if (!(name in redis))
      redis.defineCommand(name, { numberOfKeys: definition.numberOfKeys, lua: definition.lua });
    const fn = (redis as unknown as Record<string, RawCommand | undefined>)[name];
    if (!fn) throw new Error(`script ${name} could not be defined`);
    const result = definition.result;
    callers[name] = result
      ? async (...args) => result(await fn.call(redis, ...args))
      : (...args) => fn.call(redis, ...args);
  }
  return callers as ScriptCalls<D>;
}
