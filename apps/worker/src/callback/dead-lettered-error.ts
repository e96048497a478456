import { UnrecoverableError } from 'bullmq';
import { loggedFailure } from '../queues/worker-errors.js';

/**
 * A callback job ended on purpose: the order is marked dead and the handler has logged why
 * (refused, schedule exhausted). Unrecoverable, so BullMQ fails the job without retrying; told
 * apart so that the role does not log the same end a second time.
 */
export class DeadLetteredError extends UnrecoverableError {
  constructor(message: string) {
    super(message);
    loggedFailure(this);
  }
}
