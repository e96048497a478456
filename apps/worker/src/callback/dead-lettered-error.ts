import { UnrecoverableError } from 'bullmq';

/**
 * A callback job ended on purpose: the order is marked dead and the handler has logged why
 * (refused, schedule exhausted). Unrecoverable, so BullMQ fails the job without retrying; told
 * apart so that the role does not log the same end a second time.
 */
export class DeadLetteredError extends UnrecoverableError {}
