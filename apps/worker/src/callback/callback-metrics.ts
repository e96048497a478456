import { Counter, Gauge, type Registry } from '@owc/observability';
import type { OrderStore } from '@owc/order-store';
import { metricOf } from '../dispense/dispense-metrics.js';

export interface CallbackMetrics {
  attempts: Counter<'outcome'>;
  dead: Counter<'why'>;
  refused: Counter<'status'>;
}

export function callbackMetrics(registry: Registry, store?: OrderStore): CallbackMetrics {
  const registers = [registry];
  if (store) {
    metricOf(
      registry,
      'owc_callbacks_dead',
      () =>
        new Gauge({
          name: 'owc_callbacks_dead',
          help: 'Orders whose callback is dead-lettered right now (replay with `pnpm cli callback:replay`)',
          registers,
          async collect() {
            this.set((await store.deadOrders(1_000_000)).length);
          },
        }),
    );
  }
  return {
    attempts: metricOf(
      registry,
      'owc_callback_attempts_total',
      () =>
        new Counter({
          name: 'owc_callback_attempts_total',
          help: 'order/callback deliveries, by outcome (ok, retryable, token-rejected, permanent)',
          labelNames: ['outcome'] as const,
          registers,
        }),
    ),
    dead: metricOf(
      registry,
      'owc_callbacks_dead_total',
      () =>
        new Counter({
          name: 'owc_callbacks_dead_total',
          help: 'Callbacks given up on (dead letters), by why: schedule_exhausted, permanent (an owitho code), callback_refused (HTTP 4xx)',
          labelNames: ['why'] as const,
          registers,
        }),
    ),
    refused: metricOf(
      registry,
      'owc_callback_refused_total',
      () =>
        new Counter({
          name: 'owc_callback_refused_total',
          help: 'order/callback requests owitho refused at the HTTP level (413 too large, other 4xx), by status: a problem with the callback itself',
          labelNames: ['status'] as const,
          registers,
        }),
    ),
  };
}
