import { integerResult, luaScript, oneOfResult } from '@owc/redis';

/** The token keeper's scripts (`lua/*.lua`; each file's header names its KEYS, ARGV and answer). */
export const tokenScripts = {
  owcTokenCountFetch: luaScript(new URL('../lua/count-fetch-1.lua', import.meta.url), integerResult),
  owcTokenWrite: luaScript(
    new URL('../lua/write-token-2.lua', import.meta.url),
    oneOfResult(['written', 'lost'] as const),
  ),
};
