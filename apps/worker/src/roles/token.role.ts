import type { TokenKeeper } from '@owc/token';
import type { ReadinessCheck } from '../readiness.js';
import type { RoleStarter } from '../worker-context.js';

/** A token the deployment can sign with exists in Redis and has not expired. */
export function usableTokenCheck(tokens: TokenKeeper, now: () => number = Date.now): ReadinessCheck {
  return async () => {
    const state = await tokens.readState();
    if (!state) return 'no access token yet';
    if (now() >= state.expireAt) return 'the access token has expired';
    return undefined;
  };
}

/**
 * The guide's "central control server": refreshes the shared token ahead of its expiry. Any
 * number of pods may run this role; the keeper's lock makes one of them fetch. Not ready while
 * no usable token exists.
 */
export const startTokenRole: RoleStarter = async (ctx) => {
  ctx.tokens.start();
  return {
    role: 'token',
    readiness: { token: usableTokenCheck(ctx.tokens) },
    close: () => ctx.tokens.stop(),
  };
};
