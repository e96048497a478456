import { defineMetrics, type Registry } from '@owc/observability';

/** The ingress's Prometheus metrics, registered on the process's registry (served on /metrics). */
export function ingressMetrics(registry: Registry) {
  return defineMetrics(registry, (m) => ({
    registry,
    requests: m.counter({
      name: 'owc_ingress_requests_total',
      help: 'HTTP requests by route, HTTP status and protocol code (empty when the route has none)',
      labelNames: ['route', 'status', 'code'] as const,
    }),
    acceptSeconds: m.histogram({
      name: 'owc_ingress_notice_accept_seconds',
      help: 'Time to accept an order notice (record + dispense job), by outcome',
      labelNames: ['outcome'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    }),
    envelopeRejections: m.counter({
      name: 'owc_ingress_envelope_rejections_total',
      help: 'Requests refused by the envelope checks (40000-40004), by route and code',
      labelNames: ['route', 'code'] as const,
    }),
    duplicates: m.counter({
      name: 'owc_ingress_notice_duplicates_total',
      help: 'Order notices for an order already accepted with the same content',
    }),
    conflicts: m.counter({
      name: 'owc_ingress_notice_conflicts_total',
      help: 'Order notices for an order already accepted with different content (not re-dispensed)',
    }),
    amountMismatches: m.counter({
      name: 'owc_ingress_amount_mismatches_total',
      help: 'Order notices whose amounts do not add up (lines: Σ qty×actualPrice; discount: origin−discount)',
      labelNames: ['kind'] as const,
    }),
    snapshotAnswers: m.counter({
      name: 'owc_ingress_machine_snapshot_answers_total',
      help: 'machine/query answered from the last known snapshot, by why the live query failed',
      labelNames: ['reason'] as const,
    }),
    unknownEnums: m.counter({
      name: 'owc_ingress_notice_unknown_enum_total',
      help: 'Order notices carrying a payStatus, refundStatus or payMethod outside the guide (kept; unknown pay/refund status is never dispensed)',
      labelNames: ['field'] as const,
    }),
  }));
}

export type IngressMetrics = ReturnType<typeof ingressMetrics>;
