import type { RedisClient } from './connection.js';

export interface ScriptDefinition {
  numberOfKeys: number;
  lua: string;
}

/** Calls a defined script: keys first, then arguments. */
export type ScriptCall = (...keysThenArgs: (string | number)[]) => Promise<unknown>;

/**
 * Defines each Lua script on the connection once (ioredis runs it by EVALSHA, loading it when
 * Redis does not know it yet) and returns a caller per name. Names are global to the connection:
 * give them a prefix of the component that owns them.
 */
export function defineScripts<N extends string>(
  redis: RedisClient,
  scripts: Record<N, ScriptDefinition>,
): Record<N, ScriptCall> {
  const callers = {} as Record<N, ScriptCall>;
  for (const name of Object.keys(scripts) as N[]) {
    if (!(name in redis)) redis.defineCommand(name, scripts[name]);
    const fn = (redis as unknown as Record<string, (...args: (string | number)[]) => Promise<unknown>>)[name];
    if (!fn) throw new Error(`script ${name} could not be defined`);
    callers[name] = (...args) => fn.call(redis, ...args);
  }
  return callers;
}
