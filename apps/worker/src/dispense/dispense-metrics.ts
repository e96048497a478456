import { BoundedLabel, defineMetrics, type Registry } from '@owc/observability';

export interface DispenseMetricsSettings {
  /** METRICS_MACHINE_LABELS_MAX: distinct machine label values before the rest are `other` */
  machineLabelsMax: number;
}

/** The dispense role's metrics (one definition per registry, shared by every handler). */
export function dispenseMetrics(registry: Registry, settings: DispenseMetricsSettings) {
  const machines = new BoundedLabel(settings.machineLabelsMax);
  return defineMetrics(registry, (m) => ({
    units: m.counter({
      name: 'owc_dispense_units_total',
      help: 'Units with a recorded result, by result and failure reason',
      labelNames: ['result', 'reason'] as const,
    }),
    vendSeconds: m.histogram({
      name: 'owc_vend_duration_seconds',
      help: 'Latency of vend requests to the machine gateway, by answer',
      labelNames: ['result'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30],
    }),
    machineVends: m.counter({
      name: 'owc_machine_vends_total',
      help: 'Vend answers per machine (machine label bounded by METRICS_MACHINE_LABELS_MAX, then `other`), by result',
      labelNames: ['machine', 'result'] as const,
    }),
    leaseWaits: m.counter({
      name: 'owc_machine_lease_waits_total',
      help: 'Dispense jobs delayed because another holder had the machine lease, per machine (bounded like owc_machine_vends_total)',
      labelNames: ['machine'] as const,
    }),
    orders: m.counter({
      name: 'owc_dispense_orders_final_total',
      help: 'Orders finalised by this process, by outStatus',
      labelNames: ['outStatus'] as const,
    }),
    unitRetries: m.counter({
      name: 'owc_dispense_unit_retries_total',
      help: 'Unit vends put off for a retry (machine offline or fault, gateway unreachable)',
      labelNames: ['reason'] as const,
    }),
    /** the label value to use for a machine code (bounded cardinality) */
    machine: (machineCode: string): string => machines.of(machineCode),
  }));
}

export type DispenseMetrics = ReturnType<typeof dispenseMetrics>;

/** The stuck-order sweep's gauge (the sweep reads the shared order index, so every pod agrees). */
export function stuckOrderMetrics(registry: Registry) {
  return defineMetrics(registry, (m) => ({
    stuck: m.gauge({
      name: 'owc_orders_stuck',
      help: 'Orders open longer than STUCK_ORDER_AFTER_MS at the last sweep, by kind',
      labelNames: ['kind'] as const,
      scope: 'deployment',
    }),
  }));
}

export type StuckOrderMetrics = ReturnType<typeof stuckOrderMetrics>;
