import { trace } from '@opentelemetry/api';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { BullMQOtel } from 'bullmq-otel';

export interface TracingSettings {
  /** service.name of every span (ingress, worker) */
  serviceName: string;
  /** OTEL_EXPORTER_OTLP_ENDPOINT: spans go to `${endpoint}/v1/traces` over OTLP/HTTP */
  endpoint?: string;
  /** instead of OTLP: an exporter of our own (tests use an in-memory one), spans exported at once */
  exporter?: SpanExporter;
}

export interface Tracing {
  /** for BullMQ's `telemetry` option of every Queue and Worker: the job hop carries the trace */
  readonly bullmq: BullMQOtel;
  /** flushes what is buffered and stops tracing */
  shutdown(): Promise<void>;
}

/**
 * Tracing is process-wide by nature (OpenTelemetry's API is global): started once in a process's
 * `main` when OTEL_EXPORTER_OTLP_ENDPOINT is set, and off otherwise. Off means no provider, no
 * instrumentation, no BullMQ telemetry: nothing is added to the order path.
 */
export async function startTracing(settings: TracingSettings): Promise<Tracing | undefined> {
  const { endpoint, exporter } = settings;
  if (!endpoint && !exporter) return undefined;
  let processor: SpanProcessor;
  if (exporter) {
    processor = new SimpleSpanProcessor(exporter);
  } else {
    // loaded only when tracing goes to a collector
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    processor = new BatchSpanProcessor(
      new OTLPTraceExporter({ url: `${endpoint?.replace(/\/$/, '')}/v1/traces` }),
    );
  }
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': settings.serviceName }),
    spanProcessors: [processor],
  });
  provider.register();
  // every undici request (gateway, owitho) becomes a client span, with traceparent sent along
  const undici = new UndiciInstrumentation({
    // signed query strings (getAccessToken's signature) never reach a span
    requestHook: (span, request) => {
      const path = request.path.split('?')[0] ?? '';
      span.setAttribute('url.full', `${request.origin}${path}`);
      span.setAttribute('url.query', '');
    },
  });
  undici.setTracerProvider(provider);
  undici.enable();
  return {
    bullmq: new BullMQOtel({ tracerName: 'owc' }),
    async shutdown() {
      undici.disable();
      await provider.shutdown();
      trace.disable();
    },
  };
}

/** For tests and benches: spans kept in memory (startTracing({ exporter })). */
export { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
