import { type Attributes, SpanStatusCode, trace } from '@opentelemetry/api';

/** The tracer of our own spans (the instrumentations bring theirs). */
const TRACER = 'owc';

/**
 * Runs `fn` inside a span of our own, made the active one so that what `fn` calls (undici,
 * BullMQ, log lines) nests under it; ends it, with the error recorded when `fn` throws. Parented
 * to whatever span is active; a root span (a trace of its own) when called from a timer. With
 * tracing off the API's tracer is a no-op: no span is made, `fn` just runs.
 */
export function inSpan<T>(name: string, attributes: Attributes, fn: () => Promise<T>): Promise<T> {
  return trace.getTracer(TRACER).startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof Error) span.recordException(error);
      span.setStatus({
        code: SpanStatusCode.ERROR,
        message: error instanceof Error ? error.message : String(error),
      });
      throw error;
    } finally {
      span.end();
    }
  });
}
