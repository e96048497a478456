import { CALLBACK_BACKOFF, createConsumer } from '@owc/queues';
import { CallbackHandler } from '../callback/callback.handler.js';
import { callbackBackoffStrategy } from '../callback/callback-jobs.js';
import { watchWorker } from '../queues/worker-errors.js';
import { bullWorkerCheck } from '../readiness.js';
import { callbackDelivery, consumerOptions, type RoleStarter } from '../worker-context.js';

/**
 * Consumes `order.callback` jobs. The Worker's custom backoff strategy follows
 * CALLBACK_SCHEDULE_MS (delay before delivery k+1 = entry k, ±CALLBACK_JITTER), counting the
 * deliveries the dispense job made before the callback job existed.
 */
export const startCallbackRole: RoleStarter = async (ctx) => {
  const { config } = ctx;
  const logger = ctx.logger.child({ role: 'callback' });
  const schedule = callbackBackoffStrategy(config.CALLBACK_SCHEDULE_MS, config.CALLBACK_JITTER);
  const handler = new CallbackHandler({
    store: ctx.store,
    timeline: ctx.timeline,
    delivery: callbackDelivery(ctx),
    logger,
  });
  const worker = createConsumer(
    'callback',
    { 'order.callback': handler.handle },
    {
      ...consumerOptions(ctx, config.CALLBACK_CONCURRENCY),
      maxStalledCount: 1000,
      settings: {
        backoffStrategy: (attemptsMade, type, error, job) => {
          if (type !== CALLBACK_BACKOFF) logger.warn({ type }, 'unknown backoff type: using the schedule');
          return schedule(attemptsMade, type, error, job);
        },
      },
    },
  );
  // the handler logs the failures it explains (retries on schedule, dead letters); the rest here
  watchWorker(worker, { queue: 'callback', redis: ctx.redis, logger });
  return {
    role: 'callback',
    readiness: { worker: bullWorkerCheck(worker) },
    async close() {
      await worker.close();
    },
  };
};
