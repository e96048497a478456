import { integerResult, luaScript, oneOfResult } from '@owc/redis';

/** The token keeper's scripts (`lua/*.lua`; each file's header names its KEYS, ARGV and answer). */
export const tokenScripts = {
  owcTokenCountIssued: luaScript(new URL('../lua/count-issued-1.lua', import.meta.url), integerResult),
  owcTokenWrite: luaScript(
    new URL('../lua/write-token-2.lua', import.meta.url),
    oneOfResult(['written', 'lost'] as const),
  ),
};

/** The verification-refresh rate bound (SignatureFailureWatch). */
export const verifyScripts = {
  owcTokenVerifyRequest: luaScript(
    new URL('../lua/verify-request-1.lua', import.meta.url),
    oneOfResult(['requested', 'verified-recently', 'rate-limited'] as const),
  ),
};
