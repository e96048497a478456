import { Writable } from 'node:stream';
import { trace } from '@opentelemetry/api';
import { createLogger, InMemorySpanExporter, startTracing } from '@owc/observability';
import { redisTest, waitFor } from '@owc/testing';
import { describe, expect } from 'vitest';
import { startSystem } from './system-support.js';

const APP = { appId: 'app-tracing', secretKey: 'tracing-secret-000001' };
const SEED = { machines: 1, slotsPerMachine: 4 };

describe('tracing: one trace per order, from the notice to owitho acknowledging the callback', () => {
  redisTest(
    'an order pushed through both simulators makes one trace with the expected spans in order',
    async ({ redisUrl, prefix }) => {
      const exporter = new InMemorySpanExporter();
      const tracing = await startTracing({ serviceName: 'owc-test', exporter });
      if (!tracing) throw new Error('tracing did not start with an exporter');
      const system = await startSystem(redisUrl, prefix, { app: APP, seed: SEED, tracing });
      const { owitho, worker } = system;
      try {
        const [id] = owitho.sim.pushGenerated(1);
        await waitFor(async () => (await worker.context.store.get(id ?? ''))?.state === 'reported', {
          timeoutMs: 30_000,
          what: 'the order reported',
        });
        // the dispense job's span ends just after its own callback delivery marked the order reported
        await waitFor(
          () =>
            exporter
              .getFinishedSpans()
              .some((s) => s.name === 'process dispense' && s.attributes['bullmq.job.id'] === id),
          { timeoutMs: 10_000, what: "the dispense job's span" },
        );
        const spans = exporter.getFinishedSpans();
        const notice = spans.find(
          (s) => s.name === 'request' && s.attributes['http.route'] === '/order/notice',
        );
        expect(notice).toBeDefined();
        const traceId = notice?.spanContext().traceId;
        const trail = spans
          .filter((s) => s.spanContext().traceId === traceId)
          .sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);
        const label = (s: (typeof trail)[number]) => {
          const path = s.attributes['url.path'];
          return typeof path === 'string' && s.name === 'POST' ? `POST ${path}` : s.name;
        };
        const expected = [
          'POST /order/notice', // owitho pushes the notice (the simulator's client span)
          'request', // the ingress's span for it
          'add dispense.order.dispense', // the enqueue
          'process dispense', // the dispense job, continued from the job's context
          'POST /machines/M001/vends', // the gateway call
          'POST /order/callback', // the dispense job's own callback delivery, owitho's answer
        ];
        const labels = trail.map(label);
        // each expected span is there, in this order (other spans, such as hooks, may sit between)
        let at = -1;
        for (const name of expected) {
          const next = labels.indexOf(name, at + 1);
          expect(next, `${name} after ${labels[at] ?? 'the start'} in ${labels.join(', ')}`).toBeGreaterThan(
            at,
          );
          at = next;
        }
        // the job spans are the order's: a trace per order, not per worker
        const jobIds = trail.map((s) => s.attributes['bullmq.job.id']).filter(Boolean);
        expect(new Set(jobIds)).toEqual(new Set([id]));
        // the token role's refresh at start-up is a trace of its own: its span, with the
        // getAccessToken request nested under it (not a lone, unparented request span)
        const refresh = spans.find((s) => s.name === 'token refresh');
        expect(refresh?.attributes['owc.token.reason']).toEqual(expect.any(String));
        expect(refresh?.parentSpanContext).toBeUndefined();
        const tokenRequest = spans.find((s) =>
          String(s.attributes['url.full'] ?? '').endsWith('/getAccessToken'),
        );
        expect(tokenRequest?.parentSpanContext?.spanId).toBe(refresh?.spanContext().spanId);
        expect(tokenRequest?.spanContext().traceId).toBe(refresh?.spanContext().traceId);
        // the ingress's spans are named by route: no span per lifecycle hook, no function source
        expect(spans.map((s) => s.name)).toContain('handler POST /order/notice');
        for (const s of spans) expect(s.name).not.toMatch(/=>|^(onSend|onResponse|onRequest)\b/);
        // no signed query string reaches a span
        for (const s of spans) expect(String(s.attributes['url.full'] ?? '')).not.toContain('signature=');

        // log lines written while a span is active carry its trace_id and span_id
        const lines: string[] = [];
        const destination = new Writable({
          write(chunk, _encoding, done) {
            lines.push(String(chunk));
            done();
          },
        });
        const log = createLogger({ level: 'info', name: 'traced', destination });
        log.info('outside any span');
        const ids = trace.getTracer('test').startActiveSpan('logged', (span) => {
          log.info('inside a span');
          span.end();
          return span.spanContext();
        });
        const [outside, inside] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
        expect(outside?.trace_id).toBeUndefined();
        expect(inside).toMatchObject({ trace_id: ids.traceId, span_id: ids.spanId });
      } finally {
        await system.close();
        await tracing.shutdown();
      }
    },
    60_000,
  );
});
