import type { RoleStarter } from '../worker-context.js';

// Being built (issue 6/7): replaced by the real role.
export const startDispenseRole: RoleStarter = async () => {
  throw new Error('the dispense role is not built yet');
};
