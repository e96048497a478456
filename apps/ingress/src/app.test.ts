import { jobCatalog, jobPayloadJsonSchema, PUBLIC_JOB_NAMES } from '@owc/queues';
import { deferred, freePort, redisTest, sampleNotice, waitFor } from '@owc/testing';
import { describe, expect, it } from 'vitest';
import { loadIngressConfig } from './config.js';
import { ADMIN, basicAuth, metricValue, post, signed, startTestIngress, TOKEN } from './ingress.test-kit.js';

describe("two listeners: owitho's port and the admin port", () => {
  redisTest(
    "admin routes answer 404 on owitho's port and are served on the admin port",
    async ({ redisUrl, prefix }) => {
      const ingress = await startTestIngress(redisUrl, prefix);
      try {
        expect(ingress.adminUrl).not.toBe(ingress.url);
        const adminPaths = [
          '/admin/queues',
          '/admin/queues/api/queues',
          '/metrics',
          '/docs/openapi.json',
          '/docs/json',
          '/docs/',
        ] as const;
        for (const path of adminPaths) {
          // with credentials too: the public port does not know these paths at all
          const onPublic = await fetch(`${ingress.url}${path}`, { headers: basicAuth() });
          expect({ path, status: onPublic.status }).toEqual({ path, status: 404 });
          const onAdmin = await fetch(`${ingress.adminUrl}${path}`, { headers: basicAuth() });
          expect({ path, status: onAdmin.status }).toEqual({ path, status: 200 });
        }
        const enqueue = await post(
          `${ingress.url}/admin/jobs/machine.restocked`,
          { machineCode: 'M001' },
          { headers: basicAuth() },
        );
        expect(enqueue.status).toBe(404);
        expect(await ingress.deps.producer.queue('machine-sync').count()).toBe(0);
        // the admin port still asks for credentials
        expect((await fetch(`${ingress.adminUrl}/admin/queues`)).status).toBe(401);
      } finally {
        await ingress.close();
      }
    },
  );

  redisTest("owitho's calls and the probes answer on the public port only", async ({ redisUrl, prefix }) => {
    const ingress = await startTestIngress(redisUrl, prefix);
    try {
      expect((await fetch(`${ingress.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${ingress.url}/readyz`)).status).toBe(200);
      const accepted = await post(`${ingress.url}/order/notice`, signed(sampleNotice('OVPORT1')));
      expect(accepted.body).toEqual({ code: 200, msg: 'success' });
      const onAdmin = await post(`${ingress.adminUrl}/order/notice`, signed(sampleNotice('OVPORT2')));
      expect(onAdmin.status).toBe(404);
      expect(await ingress.deps.store.get('OVPORT2')).toBeUndefined();
      expect((await fetch(`${ingress.adminUrl}/readyz`)).status).toBe(404);
      // the admin listener can be probed on its own
      expect((await fetch(`${ingress.adminUrl}/healthz`)).status).toBe(200);
    } finally {
      await ingress.close();
    }
  });

  it('ADMIN_PORT defaults to 3001 and may not be INGRESS_PORT', () => {
    const base = {
      OWITHO_APP_ID: 'a',
      MACHINE_GATEWAY_URL: 'http://127.0.0.1:9',
      ADMIN_USER: 'u',
      ADMIN_PASSWORD: 'p',
    };
    expect(loadIngressConfig(base)).toMatchObject({ INGRESS_PORT: 3000, ADMIN_PORT: 3001 });
    expect(() => loadIngressConfig({ ...base, INGRESS_PORT: '3001' })).toThrow(/ADMIN_PORT.*INGRESS_PORT/);
    expect(loadIngressConfig({ ...base, INGRESS_PORT: '0', ADMIN_PORT: '0' }).ADMIN_PORT).toBe(0);
  });

  redisTest(
    'a taken admin port fails the start and leaves nothing listening',
    async ({ redisUrl, prefix }) => {
      const first = await startTestIngress(redisUrl, prefix);
      const adminPort = new URL(first.adminUrl).port;
      const publicPort = String(await freePort());
      try {
        await expect(
          startTestIngress(redisUrl, prefix, { env: { ADMIN_PORT: adminPort, INGRESS_PORT: publicPort } }),
        ).rejects.toThrow(/EADDRINUSE/);
        await expect(fetch(`http://127.0.0.1:${publicPort}/healthz`)).rejects.toThrow();
      } finally {
        await first.close();
      }
    },
  );
});

describe('the ingress app', () => {
  redisTest('serves the OpenAPI document of the three owitho routes only', async ({ redisUrl, prefix }) => {
    const ingress = await startTestIngress(redisUrl, prefix);
    try {
      const response = await fetch(`${ingress.adminUrl}/docs/openapi.json`);
      expect(response.status).toBe(200);
      const doc = (await response.json()) as {
        openapi: string;
        paths: Record<string, { post?: { requestBody?: { content: Record<string, { schema: unknown }> } } }>;
        components: {
          schemas: Record<string, { properties?: Record<string, unknown>; required?: string[] }>;
        };
      };
      expect(doc.openapi).toBe('3.0.3');
      expect(Object.keys(doc.paths).sort()).toEqual(['/machine/query', '/order/notice', '/order/query']);
      const body = doc.paths['/order/notice']?.post?.requestBody?.content['application/json']?.schema as {
        properties: Record<string, unknown>;
        required: string[];
      };
      expect(Object.keys(body.properties).sort()).toEqual(['appId', 'data', 'salt', 'signatures', 'utc']);
      expect(body.required).toEqual(expect.arrayContaining(['appId', 'data', 'salt', 'utc']));
      const orderNotice = doc.components.schemas.OrderNotice;
      expect(orderNotice?.required).toEqual(
        expect.arrayContaining(['orderViewId', 'orderDetailList', 'payStatus']),
      );
      expect(Object.keys(doc.components.schemas).sort()).toEqual([
        'MachineLayout',
        'MachineQuery',
        'OrderNotice',
        'OrderQuery',
        'OrderResult',
      ]);
    } finally {
      await ingress.close();
    }
  });

  redisTest(
    'the admin listener documents POST /admin/jobs/{name} for every public job, its body the catalog schema',
    async ({ redisUrl, prefix }) => {
      const ingress = await startTestIngress(redisUrl, prefix);
      try {
        // no credentials: the contract is readable by the teams that only hold an API key
        const response = await fetch(`${ingress.adminUrl}/docs/json`);
        expect(response.status).toBe(200);
        const text = await response.text();
        expect(text).not.toContain(ADMIN.password);
        type Operation = {
          requestBody?: { required?: boolean; content: Record<string, { schema: unknown }> };
          parameters?: { in: string; name: string; required?: boolean }[];
          responses: Record<string, { content?: Record<string, { schema: { properties?: object } }> }>;
          security?: Record<string, unknown>[];
        };
        const doc = JSON.parse(text) as {
          openapi: string;
          paths: Record<string, Record<string, Operation>>;
          components: { securitySchemes: Record<string, { type: string; scheme: string }> };
        };
        expect(doc.openapi).toBe('3.0.3');
        // every public job, and nothing else: no internal job, no dashboard or console route
        expect(Object.keys(doc.paths).sort()).toEqual(
          PUBLIC_JOB_NAMES.map((name) => `/admin/jobs/${name}`).sort(),
        );
        expect(PUBLIC_JOB_NAMES).toEqual(
          expect.arrayContaining(['sku.upsert', 'machine.restocked', 'machine.layout']),
        );
        for (const name of PUBLIC_JOB_NAMES) {
          const path = doc.paths[`/admin/jobs/${name}`] ?? {};
          expect({ name, methods: Object.keys(path) }).toEqual({ name, methods: ['post'] });
          const operation = path.post as Operation;
          const { $schema: _, ...body } = jobPayloadJsonSchema(
            jobCatalog[name].schema,
            'openapi-3.0',
          ) as Record<string, unknown>;
          expect({ name, body: operation.requestBody?.content['application/json']?.schema }).toEqual({
            name,
            body,
          });
          expect(operation.requestBody?.required).toBe(true);
          expect(operation.parameters).toEqual([
            expect.objectContaining({ in: 'query', name: 'jobId', required: false }),
          ]);
          expect(
            Object.keys(
              operation.responses['202']?.content?.['application/json']?.schema.properties ?? {},
            ).sort(),
          ).toEqual(['duplicate', 'jobId', 'name', 'queue']);
          expect(Object.keys(operation.responses).sort()).toEqual(['202', '4XX', '503']);
          expect(operation.security).toEqual([{ apiKey: [] }, { operator: [] }]);
        }
        // the body refuses unknown fields, as the route does
        expect(JSON.stringify(doc.paths['/admin/jobs/machine.restocked'])).toContain(
          '"additionalProperties":false',
        );
        expect(doc.components.securitySchemes).toEqual({
          apiKey: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
          operator: expect.objectContaining({ type: 'http', scheme: 'basic' }),
        });
      } finally {
        await ingress.close();
      }
    },
  );

  redisTest(
    'the docs UI answers 200 without credentials and offers both documents',
    async ({ redisUrl, prefix }) => {
      const ingress = await startTestIngress(redisUrl, prefix);
      try {
        const page = await fetch(`${ingress.adminUrl}/docs/`);
        expect(page.status).toBe(200);
        expect(page.headers.get('content-type')).toMatch(/^text\/html/);
        expect(await page.text()).toContain('swagger-ui');
        const initializer = await fetch(`${ingress.adminUrl}/docs/static/swagger-initializer.js`);
        expect(initializer.status).toBe(200);
        const script = await initializer.text();
        expect(script).toContain('/docs/json');
        expect(script).toContain('/docs/openapi.json');
        // read to the end: an unread body holds the connection, and close() waits for it
        const bundle = await fetch(`${ingress.adminUrl}/docs/static/swagger-ui-bundle.js`);
        expect(bundle.status).toBe(200);
        expect((await bundle.arrayBuffer()).byteLength).toBeGreaterThan(0);
        // the UI is open, the routes it documents are not
        const unauthenticated = await post(`${ingress.adminUrl}/admin/jobs/machine.restocked`, {
          machineCode: 'M001',
        });
        expect(unauthenticated.status).toBe(401);
      } finally {
        await ingress.close();
      }
    },
  );

  redisTest(
    'metrics count requests by route, status and protocol code; accept latency is observed',
    async ({ redisUrl, prefix }) => {
      const ingress = await startTestIngress(redisUrl, prefix);
      try {
        await post(`${ingress.url}/order/notice`, signed(sampleNotice('OVM1')));
        await post(`${ingress.url}/order/notice`, signed(sampleNotice('OVM1')));
        const text = await (await fetch(`${ingress.adminUrl}/metrics`)).text();
        const value = (name: string, labels: Record<string, string> = {}) => metricValue(text, name, labels);
        expect(
          value('owc_ingress_requests_total', { route: '/order/notice', status: '200', code: '200' }),
        ).toBe(2);
        expect(value('owc_ingress_notice_accept_seconds_count', { outcome: 'created' })).toBe(1);
        expect(value('owc_ingress_notice_accept_seconds_count', { outcome: 'duplicate' })).toBe(1);
        expect(value('owc_ingress_notice_duplicates_total')).toBe(1);
        expect(text).toContain('nodejs_heap_size_used_bytes');
      } finally {
        await ingress.close();
      }
    },
  );

  redisTest(
    'request ids: a sane incoming x-request-id is kept, anything else replaced',
    async ({ redisUrl, prefix }) => {
      const ingress = await startTestIngress(redisUrl, prefix);
      try {
        const kept = await fetch(`${ingress.url}/healthz`, { headers: { 'x-request-id': 'abc-123' } });
        expect(kept.headers.get('x-request-id')).toBe('abc-123');
        const replaced = await fetch(`${ingress.url}/healthz`, { headers: { 'x-request-id': 'a b\tc' } });
        expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      } finally {
        await ingress.close();
      }
    },
  );

  redisTest(
    'at info, an accepted notice writes no line (its request line and "order accepted" are debug)',
    async ({ redisUrl, prefix }) => {
      const { capturedLogger } = await import('./ingress.test-kit.js');
      const { logger, lines } = capturedLogger('info');
      const ingress = await startTestIngress(redisUrl, prefix, { logger });
      try {
        const answer = await post(`${ingress.url}/order/notice`, signed(sampleNotice('OVQUIET1')));
        expect(answer.body).toMatchObject({ code: 200 });
        // a duplicate is still told at info
        await post(`${ingress.url}/order/notice`, signed(sampleNotice('OVQUIET1')));
        const text = lines.join('');
        expect(text).not.toContain('request completed');
        expect(text).not.toContain('incoming request');
        expect(text).not.toContain('order accepted');
        expect(text).toContain('duplicate notice');
      } finally {
        await ingress.close();
      }
    },
  );

  redisTest('request logs carry no signature, token, body or credentials', async ({ redisUrl, prefix }) => {
    const { capturedLogger, basicAuth } = await import('./ingress.test-kit.js');
    const { logger, lines } = capturedLogger('debug');
    const ingress = await startTestIngress(redisUrl, prefix, { logger });
    try {
      const envelope = signed(sampleNotice('OVLOG1'));
      await post(`${ingress.url}/order/notice`, envelope);
      await post(`${ingress.url}/order/notice`, signed(sampleNotice('OVLOG2'), ['wrong-token']));
      await fetch(`${ingress.adminUrl}/admin/queues/api/queues`, { headers: basicAuth() });
      const text = lines.join('');
      expect(text).toContain('request completed');
      expect(text).toContain('OVLOG1');
      for (const secret of [envelope.signatures[0] as string, TOKEN, envelope.data, 'pa55-word', 'Basic ']) {
        expect(text).not.toContain(secret);
      }
    } finally {
      await ingress.close();
    }
  });

  redisTest(
    'graceful shutdown: an in-flight request finishes, new connections are refused',
    async ({ redisUrl, prefix }) => {
      const held = deferred();
      const inside = deferred();
      const slowTokens = {
        peekHonouredTokens: async () => {
          inside.resolve();
          await held.promise;
          return [TOKEN];
        },
      };
      const ingress = await startTestIngress(redisUrl, prefix, {
        tokens: slowTokens,
        env: { SHUTDOWN_TIMEOUT_MS: '60000' },
      });
      const inFlight = post(`${ingress.url}/order/notice`, signed(sampleNotice('OVSHUT1')));
      await inside.promise;
      const closing = ingress.close();
      await expect(fetch(`${ingress.url}/healthz`, { signal: AbortSignal.timeout(5000) })).rejects.toThrow();
      held.resolve();
      const answer = await inFlight;
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ code: 200, msg: 'success' });
      // closing finishes once the in-flight answer is out, well before SHUTDOWN_TIMEOUT_MS cuts connections
      const closed = await Promise.race([
        closing.then(() => 'closed'),
        new Promise((resolve) => setTimeout(() => resolve('still open'), 20_000).unref()),
      ]);
      expect(closed).toBe('closed');
      expect(await waitFor(() => ingress.deps.redis.status === 'end')).toBe(true);
    },
  );
});
