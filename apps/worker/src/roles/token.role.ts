import type { RoleStarter } from '../worker-context.js';

/**
 * The guide's "central control server": refreshes the shared token ahead of its expiry. Any
 * number of pods may run this role; the keeper's lock makes one of them fetch.
 */
export const startTokenRole: RoleStarter = async (ctx) => {
  ctx.tokens.start();
  return { role: 'token', close: () => ctx.tokens.stop() };
};
