import type { WorkerRole } from '../config.js';
import type { RoleStarter } from '../worker-context.js';
import { startCallbackRole } from './callback.role.js';
import { startDispenseRole } from './dispense.role.js';
import { startSyncRole } from './sync.role.js';
import { startTokenRole } from './token.role.js';

/** Start order matters: the token role first, so the others find a token. */
export const roleStarters: Record<WorkerRole, RoleStarter> = {
  token: startTokenRole,
  dispense: startDispenseRole,
  callback: startCallbackRole,
  sync: startSyncRole,
};
