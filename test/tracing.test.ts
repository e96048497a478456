import { Writable } from 'node:stream';
import { trace } from '@opentelemetry/api';
import { loadIngressConfig, startIngress } from '@owc/ingress';
import { startMachineSim } from '@owc/machine-sim';
import { createLogger, InMemorySpanExporter, startTracing } from '@owc/observability';
import { startOwithoSim } from '@owc/owitho-sim';
import { redisTest, waitFor } from '@owc/testing';
import { loadWorkerConfig, runWorker } from '@owc/worker';
import { describe, expect } from 'vitest';

const APP_ID = 'app-tracing';
const SECRET = 'tracing-secret-000001';
const SEED = { machines: 1, slotsPerMachine: 4 };
const silent = (name: string) => createLogger({ level: 'silent', name });

describe('tracing: one trace per order, from the notice to owitho acknowledging the callback', () => {
  redisTest(
    'an order pushed through both simulators makes one trace with the expected spans in order',
    async ({ redisUrl, prefix }) => {
      const exporter = new InMemorySpanExporter();
      const tracing = await startTracing({ serviceName: 'owc-test', exporter });
      if (!tracing) throw new Error('tracing did not start with an exporter');
      const machines = await startMachineSim({ fleet: { ...SEED, inventory: 100 }, vendDurationMs: 2 });
      const ingress = await startIngress(
        loadIngressConfig({
          REDIS_URL: redisUrl,
          KEY_PREFIX: prefix,
          OWITHO_APP_ID: APP_ID,
          INGRESS_HOST: '127.0.0.1',
          INGRESS_PORT: '0',
          ADMIN_HOST: '127.0.0.1',
          ADMIN_PORT: '0',
          MACHINE_GATEWAY_URL: machines.url,
          ADMIN_USER: 'admin',
          ADMIN_PASSWORD: 'admin-pass',
          LOG_LEVEL: 'silent',
        }),
        silent('ingress'),
        { tracing },
      );
      const owitho = await startOwithoSim({
        appId: APP_ID,
        secretKey: SECRET,
        thirdUrl: ingress.url,
        noticeRetryMs: 200,
        queryAfterMs: 3_600_000,
        seed: SEED,
        logger: silent('owitho-sim'),
      });
      const worker = await runWorker(
        loadWorkerConfig({
          REDIS_URL: redisUrl,
          KEY_PREFIX: prefix,
          OWITHO_BASE_URL: owitho.url,
          OWITHO_APP_ID: APP_ID,
          OWITHO_SECRET_KEY: SECRET,
          MACHINE_GATEWAY_URL: machines.url,
          WORKER_ROLES: 'token,dispense,callback',
          WORKER_METRICS_PORT: '-1',
          LOG_LEVEL: 'silent',
        }),
        silent('worker'),
        tracing,
      );
      try {
        const [id] = owitho.sim.pushGenerated(1);
        await waitFor(async () => (await worker.context.store.get(id ?? ''))?.state === 'reported', {
          timeoutMs: 30_000,
          what: 'the order reported',
        });
        // the callback job's span ends just after it marked the order reported
        await waitFor(
          () =>
            exporter
              .getFinishedSpans()
              .some((s) => s.name === 'process callback' && s.attributes['bullmq.job.id'] === `cb-${id}`),
          { timeoutMs: 10_000, what: "the callback job's span" },
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
          'add callback.order.callback',
          'process callback', // the callback job
          'POST /order/callback', // owitho's answer to our callback
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
        expect(new Set(jobIds)).toEqual(new Set([id, `cb-${id}`]));
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
        await owitho.close();
        await worker.close();
        await ingress.close();
        await machines.close();
        await tracing.shutdown();
      }
    },
    60_000,
  );
});
