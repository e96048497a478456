import type { RoleStarter } from '../worker-context.js';

// Being built (issue 6/7): replaced by the real role.
export const startCallbackRole: RoleStarter = async () => {
  throw new Error('the callback role is not built yet');
};
