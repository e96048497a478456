import { defineMetrics, type Registry } from '@owc/observability';
import type { OrderStore } from '@owc/order-store';

/** The callback role's metrics; the dead-letter gauge counts the shared dead set (ZCARD). */
export function callbackMetrics(registry: Registry, store: Pick<OrderStore, 'deadCount'>) {
  return defineMetrics(registry, (m) => ({
    attempts: m.counter({
      name: 'owc_callback_attempts_total',
      help: 'order/callback deliveries, by outcome (ok, retryable, token-rejected, permanent)',
      labelNames: ['outcome'] as const,
    }),
    dead: m.counter({
      name: 'owc_callbacks_dead_total',
      help: 'Callbacks given up on (dead letters), by why: schedule_exhausted, permanent (an owitho code), callback_refused (HTTP 4xx)',
      labelNames: ['why'] as const,
    }),
    refused: m.counter({
      name: 'owc_callback_refused_total',
      help: 'order/callback requests owitho refused at the HTTP level (413 too large, other 4xx), by status: a problem with the callback itself',
      labelNames: ['status'] as const,
    }),
    deadNow: m.gauge({
      name: 'owc_callbacks_dead',
      help: 'Orders whose callback is dead-lettered right now (replay with `pnpm cli callback:replay`)',
      scope: 'deployment',
      async collect(gauge) {
        gauge.set(await store.deadCount());
      },
    }),
    noticeToCallback: m.histogram({
      name: 'owc_order_notice_to_callback_seconds',
      help: 'From accepting the order notice to owitho acknowledging its callback, by outStatus',
      labelNames: ['outStatus'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
    }),
  }));
}

export type CallbackMetrics = ReturnType<typeof callbackMetrics>;
