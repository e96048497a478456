import { Counter, type Gauge, Histogram, type Registry } from '@owc/observability';

type Metric = Counter | Gauge | Histogram;

/** The registry's metric of that name, created on first use (several handlers may share a registry). */
export function metricOf<M extends Metric>(registry: Registry, name: string, create: () => M): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? create();
}

export interface DispenseMetrics {
  units: Counter<'result' | 'reason'>;
  vendSeconds: Histogram<'result'>;
  leaseWaits: Counter;
  orders: Counter<'outStatus'>;
  unitRetries: Counter<'reason'>;
}

export function dispenseMetrics(registry: Registry): DispenseMetrics {
  const registers = [registry];
  return {
    units: metricOf(
      registry,
      'owc_dispense_units_total',
      () =>
        new Counter({
          name: 'owc_dispense_units_total',
          help: 'Units with a recorded result, by result and failure reason',
          labelNames: ['result', 'reason'] as const,
          registers,
        }),
    ),
    vendSeconds: metricOf(
      registry,
      'owc_vend_duration_seconds',
      () =>
        new Histogram({
          name: 'owc_vend_duration_seconds',
          help: 'Latency of vend requests to the machine gateway, by answer',
          labelNames: ['result'] as const,
          buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30],
          registers,
        }),
    ),
    leaseWaits: metricOf(
      registry,
      'owc_machine_lease_waits_total',
      () =>
        new Counter({
          name: 'owc_machine_lease_waits_total',
          help: 'Dispense jobs delayed because another holder had the machine lease',
          registers,
        }),
    ),
    orders: metricOf(
      registry,
      'owc_dispense_orders_final_total',
      () =>
        new Counter({
          name: 'owc_dispense_orders_final_total',
          help: 'Orders finalised by this process, by outStatus',
          labelNames: ['outStatus'] as const,
          registers,
        }),
    ),
    unitRetries: metricOf(
      registry,
      'owc_dispense_unit_retries_total',
      () =>
        new Counter({
          name: 'owc_dispense_unit_retries_total',
          help: 'Unit vends put off for a retry (machine offline or fault, gateway unreachable)',
          labelNames: ['reason'] as const,
          registers,
        }),
    ),
  };
}
