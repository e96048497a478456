import { trace } from '@opentelemetry/api';

/** pino mixin: `trace_id` and `span_id` on every line logged while a span is active (tracing on). */
export function traceIdsOfActiveSpan(): Record<string, string> {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}
