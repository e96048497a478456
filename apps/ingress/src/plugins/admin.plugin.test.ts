import { ApiKeyStore, dispenseJobId } from '@owc/queues';
import { redisTest, sampleNotice, skuOf } from '@owc/testing';
import { describe, expect } from 'vitest';
import {
  basicAuth,
  capturedLogger,
  layout,
  post,
  signed,
  startTestGateway,
  startTestIngress,
} from '../ingress.test-kit.js';
import { secretsEqual } from './admin.plugin.js';

/** the kit's sample SKU under a short code the assertions read */
const sku = (code: string, price = '2.50') => ({ ...skuOf(1), skuCode: code, originalPrice: price });

const VIEWER = { DASHBOARD_VIEWER_USER: 'viewer', DASHBOARD_VIEWER_PASSWORD: 'look-only-1' };

async function get(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { headers, redirect: 'manual', signal: AbortSignal.timeout(10_000) });
  return { status: response.status, text: await response.text(), headers: response.headers };
}

async function send(method: string, url: string, headers: Record<string, string> = {}, body?: unknown) {
  const response = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, text: await response.text() };
}

describe('the dashboard at /admin/queues', () => {
  redisTest(
    'refuses anonymous requests to its page, API and assets; serves them with credentials',
    async ({ redisUrl, prefix }) => {
      const ingress = await startTestIngress(redisUrl, prefix);
      try {
        const page = await get(`${ingress.adminUrl}/admin/queues`, basicAuth());
        expect(page.status).toBe(200);
        expect(page.text).toContain('<html');
        // the page loads its assets relative to <base href="/admin/queues/">
        expect(page.text).toMatch(/<base href="\/admin\/queues\/?"/);
        const asset = page.text.match(/src="(static\/js\/[^"]+\.js)"/)?.[1];
        expect(asset).toBeDefined();
        const assetUrl = `${ingress.adminUrl}/admin/queues/${asset}`;
        const api = `${ingress.adminUrl}/admin/queues/api/queues`;

        for (const url of [`${ingress.adminUrl}/admin/queues`, api, assetUrl]) {
          const anonymous = await get(url);
          expect({ url, status: anonymous.status }).toEqual({ url, status: 401 });
          expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic realm="owc-admin"/);
          const wrong = await get(url, basicAuth('admin', 'not-the-password'));
          expect({ url, status: wrong.status }).toEqual({ url, status: 401 });
          const wrongUser = await get(url, basicAuth('root', 'pa55-word'));
          expect({ url, status: wrongUser.status }).toEqual({ url, status: 401 });
          const ok = await get(url, basicAuth());
          expect({ url, status: ok.status }).toEqual({ url, status: 200 });
        }

        const queues = JSON.parse((await get(api, basicAuth())).text) as {
          queues: { name: string; readOnlyMode: boolean; allowRetries: boolean }[];
        };
        expect(queues.queues.map((q) => q.name).sort()).toEqual([
          'callback',
          'dispense',
          'machine-sync',
          'sku-sync',
        ]);
        expect(queues.queues.every((q) => !q.readOnlyMode && q.allowRetries)).toBe(true);
      } finally {
        await ingress.close();
      }
    },
  );

  redisTest(
    'the operator may retry and promote, nobody may edit, add, clean or remove jobs',
    async ({ redisUrl, prefix }) => {
      const ingress = await startTestIngress(redisUrl, prefix);
      const queue = ingress.deps.producer.queue('dispense');
      try {
        const job = await queue.add(
          'order.dispense',
          { orderViewId: 'D1', machineCode: 'M001' },
          { delay: 600_000 },
        );
        const base = `${ingress.adminUrl}/admin/queues/api/queues/dispense`;
        const json = { ...basicAuth(), 'content-type': 'application/json' };
        for (const [method, url] of [
          ['PATCH', `${base}/${job.id}/update-data`],
          ['POST', `${base}/add`],
          ['PUT', `${base}/${job.id}/clean`],
          ['PUT', `${base}/clean/delayed`],
          ['PUT', `${base}/empty`],
          ['PUT', `${base}/pause`],
          ['PATCH', `${base}/${job.id}/delay`],
        ] as const) {
          const refused = await send(method, url, json, { data: { orderViewId: 'EVIL', machineCode: 'M9' } });
          expect({ url, status: refused.status }).toEqual({ url, status: 403 });
        }
        expect((await queue.getJob(String(job.id)))?.data).toEqual({
          orderViewId: 'D1',
          machineCode: 'M001',
        });
        expect(await job.getState()).toBe('delayed');

        const promoted = await send('PUT', `${base}/${job.id}/promote`, basicAuth());
        expect(promoted.status).toBe(204);
        expect(await job.getState()).toBe('waiting');
      } finally {
        await ingress.close();
      }
    },
  );

  redisTest(
    'the viewer account sees a read-only board and nothing else changes',
    async ({ redisUrl, prefix }) => {
      const ingress = await startTestIngress(redisUrl, prefix, { env: VIEWER });
      const viewer = basicAuth(VIEWER.DASHBOARD_VIEWER_USER, VIEWER.DASHBOARD_VIEWER_PASSWORD);
      try {
        const redirected = await get(`${ingress.adminUrl}/admin/queues/`, viewer);
        expect(redirected.status).toBe(303);
        expect(redirected.headers.get('location')).toBe('/admin/view/queues/');
        const api = await get(`${ingress.adminUrl}/admin/view/queues/api/queues`, viewer);
        expect(api.status).toBe(200);
        const queues = JSON.parse(api.text) as { queues: { readOnlyMode: boolean }[] };
        expect(queues.queues).toHaveLength(4);
        expect(queues.queues.every((q) => q.readOnlyMode)).toBe(true);
        const retry = await send(
          'PUT',
          `${ingress.adminUrl}/admin/queues/api/queues/dispense/x/retry`,
          viewer,
        );
        expect(retry.status).toBe(403);
        const enqueue = await post(
          `${ingress.adminUrl}/admin/jobs/sku.upsert`,
          { sku: sku('A') },
          { headers: viewer },
        );
        expect(enqueue.status).toBe(403);
      } finally {
        await ingress.close();
      }
    },
  );

  redisTest('DASHBOARD_READ_ONLY puts the operator board in read-only mode', async ({ redisUrl, prefix }) => {
    const ingress = await startTestIngress(redisUrl, prefix, {
      env: { DASHBOARD_READ_ONLY: 'true' },
    });
    try {
      const api = await get(`${ingress.adminUrl}/admin/queues/api/queues`, basicAuth());
      const queues = JSON.parse(api.text) as { queues: { readOnlyMode: boolean }[] };
      expect(queues.queues).toHaveLength(4);
      expect(queues.queues.every((q) => q.readOnlyMode)).toBe(true);
    } finally {
      await ingress.close();
    }
  });

  redisTest('failed logins are throttled per address', async ({ redisUrl, prefix }) => {
    const ingress = await startTestIngress(redisUrl, prefix, {
      env: { ADMIN_LOGIN_MAX_FAILURES: '3', ADMIN_LOGIN_LOCKOUT_MS: '60000' },
    });
    try {
      const url = `${ingress.adminUrl}/admin/queues/api/queues`;
      expect((await get(url)).status).toBe(401); // no credentials at all: not a failed login
      for (let i = 0; i < 3; i++) expect((await get(url, basicAuth('admin', `guess-${i}`))).status).toBe(401);
      const locked = await get(url, basicAuth());
      expect(locked.status).toBe(429);
      expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(JSON.parse(locked.text)).toMatchObject({ error: 'too_many_failed_logins' });
    } finally {
      await ingress.close();
    }
  });
});

describe('POST /admin/jobs/{name}', () => {
  redisTest(
    '401 anonymous, 404 unknown name, 400 listing every problem, 202 with the job id',
    async ({ redisUrl, prefix }) => {
      const gateway = await startTestGateway([layout('M001')]);
      const ingress = await startTestIngress(redisUrl, prefix, { env: { MACHINE_GATEWAY_URL: gateway.url } });
      const url = (name: string, query = '') => `${ingress.adminUrl}/admin/jobs/${name}${query}`;
      const queue = ingress.deps.producer.queue('sku-sync');
      try {
        const anonymous = await post(url('sku.upsert'), { sku: sku('A') });
        expect(anonymous.status).toBe(401);
        expect(await queue.count()).toBe(0);

        const unknown = await post(url('sku.teleport'), { sku: sku('A') }, { headers: basicAuth() });
        expect(unknown.status).toBe(404);
        expect(unknown.body).toMatchObject({
          error: 'unknown_job',
          jobs: ['sku.upsert', 'machine.restocked', 'machine.layout'],
        });

        const bad = await post(
          url('sku.upsert', '?jobId=a:b&priority=1'),
          { skus: [sku('A', '10.555'), { ...sku('B'), skuName: 7, colour: 'red' }] },
          { headers: basicAuth() },
        );
        expect(bad.status).toBe(400);
        const problems = (bad.body as { problems: { field: string }[] }).problems.map((p) => p.field).sort();
        expect(problems).toEqual(['jobId', 'priority', 'skus.0.originalPrice', 'skus.1.skuName']);
        expect(bad.body).toMatchObject({ error: 'invalid_payload', field: expect.any(String) });
        expect((bad.body as { message: string }).message).toMatch(
          /skus\.0\.originalPrice: .*; .*skus\.1\.skuName/,
        );

        const extra = await post(
          url('sku.upsert'),
          { sku: { ...sku('A'), colour: 'red' }, note: 1 },
          { headers: basicAuth() },
        );
        expect(extra.status).toBe(400);
        expect(extra.body).toMatchObject({
          field: 'sku.colour',
          problems: [
            { field: 'sku.colour', message: 'unknown field' },
            { field: 'note', message: 'unknown field' },
          ],
        });

        const missing = await post(
          url('machine.restocked'),
          { containerCode: '01' },
          { headers: basicAuth() },
        );
        expect(missing.status).toBe(400);
        expect(missing.body).toMatchObject({ field: 'machineCode' });
        const unknownMachine = await post(
          url('machine.restocked'),
          { machineCode: 'NOPE' },
          { headers: basicAuth() },
        );
        expect(unknownMachine.status).toBe(422);
        expect(unknownMachine.body).toMatchObject({ error: 'unknown_machine', field: 'machineCode' });
        expect(await ingress.deps.producer.queue('machine-sync').count()).toBe(0);
        expect(await queue.count()).toBe(0);

        const badJson = await post(url('sku.upsert'), '{"sku":', { raw: true, headers: basicAuth() });
        expect(badJson.status).toBe(400);
        expect(badJson.body).toMatchObject({ error: 'invalid_json', message: expect.any(String) });
        const text = await post(url('sku.upsert'), 'hi', {
          raw: true,
          contentType: 'text/plain',
          headers: basicAuth(),
        });
        expect(text.status).toBe(415);
        expect(text.body).toMatchObject({ error: 'unsupported_media_type', message: expect.any(String) });

        const good = await post(url('sku.upsert'), { skus: [sku('A'), sku('B')] }, { headers: basicAuth() });
        expect(good.status).toBe(202);
        const { jobId } = good.body as { jobId: string };
        expect(good.body).toEqual({ jobId, name: 'sku.upsert', queue: 'sku-sync', duplicate: false });
        const job = await queue.getJob(jobId);
        expect(job?.name).toBe('sku.upsert');
        expect(job?.data).toEqual({ skus: [sku('A'), sku('B')] });

        const restocked = await post(
          url('machine.restocked'),
          { machineCode: 'M001' },
          { headers: basicAuth() },
        );
        expect(restocked.status).toBe(202);
      } finally {
        await ingress.close();
        await gateway.close();
      }
    },
  );

  redisTest(
    'the internal jobs are never enqueued over HTTP, whoever asks',
    async ({ redisUrl, prefix, redis }) => {
      const ingress = await startTestIngress(redisUrl, prefix);
      const { key } = await new ApiKeyStore(redis, prefix).create('erp', ['sku.upsert']);
      try {
        for (const name of ['order.dispense', 'order.callback']) {
          for (const headers of [basicAuth(), { authorization: `Bearer ${key}` }]) {
            const refused = await post(
              `${ingress.adminUrl}/admin/jobs/${name}`,
              { orderViewId: 'X1', machineCode: 'M001' },
              { headers },
            );
            expect({ name, status: refused.status }).toEqual({ name, status: 403 });
            expect(refused.body).toMatchObject({ error: 'internal_job' });
          }
        }
        expect(await ingress.deps.producer.queue('dispense').count()).toBe(0);
        expect(await ingress.deps.producer.queue('callback').count()).toBe(0);
      } finally {
        await ingress.close();
      }
    },
  );

  redisTest(
    '?jobId= is idempotent, says duplicate, and lives apart from the ids of orders',
    async ({ redisUrl, prefix }) => {
      const gateway = await startTestGateway([layout('M001')]);
      const ingress = await startTestIngress(redisUrl, prefix, { env: { MACHINE_GATEWAY_URL: gateway.url } });
      const queue = ingress.deps.producer.queue('machine-sync');
      try {
        const answers: unknown[] = [];
        for (let i = 0; i < 3; i++) {
          const answer = await post(
            `${ingress.adminUrl}/admin/jobs/machine.restocked?jobId=restock-M001-42`,
            { machineCode: 'M001' },
            { headers: basicAuth() },
          );
          expect(answer.status).toBe(202);
          answers.push(answer.body);
        }
        expect(answers).toEqual([
          {
            jobId: 'ext-restock-M001-42',
            name: 'machine.restocked',
            queue: 'machine-sync',
            duplicate: false,
          },
          { jobId: 'ext-restock-M001-42', name: 'machine.restocked', queue: 'machine-sync', duplicate: true },
          { jobId: 'ext-restock-M001-42', name: 'machine.restocked', queue: 'machine-sync', duplicate: true },
        ]);
        expect(await queue.count()).toBe(1);

        // a job id pre-seeded with a future order's id (or its callback's) blocks nothing
        for (const seeded of ['ORD-FUTURE-1', 'cb-ORD-FUTURE-1']) {
          const answer = await post(
            `${ingress.adminUrl}/admin/jobs/machine.restocked?jobId=${seeded}`,
            { machineCode: 'M001' },
            { headers: basicAuth() },
          );
          expect(answer.body).toMatchObject({ jobId: `ext-${seeded}`, duplicate: false });
        }
        const order = await post(`${ingress.url}/order/notice`, signed(sampleNotice('ORD-FUTURE-1')));
        expect(order.body).toMatchObject({ code: 200 });
        const dispense = await ingress.deps.producer.queue('dispense').getJob(dispenseJobId('ORD-FUTURE-1'));
        expect(dispense?.data).toEqual({ orderViewId: 'ORD-FUTURE-1', machineCode: 'M001' });
      } finally {
        await ingress.close();
        await gateway.close();
      }
    },
  );

  redisTest(
    'API keys: scoped per system, stored hashed, logged by name, revocable; no dashboard',
    async ({ redisUrl, prefix, redis }) => {
      const { logger, lines } = capturedLogger();
      const ingress = await startTestIngress(redisUrl, prefix, { logger });
      const keys = new ApiKeyStore(redis, prefix);
      const { key, record } = await keys.create('erp', ['sku.upsert']);
      const bearer = { authorization: `Bearer ${key}` };
      try {
        const stored = await redis.hgetall(`${prefix}:{api-keys}:by-hash`);
        expect(JSON.stringify(stored)).not.toContain(key);
        expect(Object.values(stored)).toHaveLength(1);

        const ok = await post(
          `${ingress.adminUrl}/admin/jobs/sku.upsert`,
          { sku: sku('A') },
          { headers: bearer },
        );
        expect(ok.status).toBe(202);
        const logged = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'job enqueued over HTTP');
        expect(logged).toMatchObject({ system: 'erp', principalKind: 'system', job: 'sku.upsert' });
        expect(lines.join('\n')).not.toContain(key);

        const outOfScope = await post(`${ingress.adminUrl}/admin/jobs/machine.layout`, layout('M001'), {
          headers: bearer,
        });
        expect(outOfScope.status).toBe(403);
        expect(outOfScope.body).toMatchObject({ error: 'forbidden' });
        expect((await get(`${ingress.adminUrl}/admin/queues/api/queues`, bearer)).status).toBe(403);

        expect((await keys.revoke(record.id)).map((r) => r.system)).toEqual(['erp']);
        const revoked = await post(
          `${ingress.adminUrl}/admin/jobs/sku.upsert`,
          { sku: sku('A') },
          { headers: bearer },
        );
        expect(revoked.status).toBe(401);
        expect(await keys.list()).toEqual([]);
        await expect(keys.create('erp', ['order.dispense'])).rejects.toThrow(/not a public job/);
      } finally {
        await ingress.close();
      }
    },
  );
});

describe('secretsEqual', () => {
  redisTest('compares secrets of any length', async () => {
    expect(secretsEqual('pa55-word', 'pa55-word')).toBe(true);
    expect(secretsEqual('pa55-wor', 'pa55-word')).toBe(false);
    expect(secretsEqual('', 'x')).toBe(false);
  });
});

describe('the order console at /admin/orders', () => {
  redisTest(
    'an order whose packed record cannot be read is listed as unreadable, and its page says why',
    async ({ redisUrl, prefix }) => {
      const ingress = await startTestIngress(redisUrl, prefix);
      try {
        const { store, redis } = ingress.deps;
        for (const orderViewId of ['GOOD1', 'BAD1'])
          await store.bookAccepted({ orderViewId, machineCode: 'M001' }, 'created', true);
        await store.accept(sampleNotice('GOOD1'));
        await redis.set(`${prefix}:{order:BAD1}:record`, '1 not a packed order');
        const list = await get(`${ingress.adminUrl}/admin/orders?machine=M001`, basicAuth());
        expect(list.status).toBe(200);
        expect(list.text).toMatch(/>BAD1<\/a><\/td>\n<td>[^<]*<\/td><td>[^<]*<\/td>\n<td>unreadable<\/td>/);
        expect(list.text).toMatch(/>GOOD1<\/a><\/td>\n<td>M001<\/td><td>[^<]*<\/td>\n<td>accepted<\/td>/);
        const page = await get(`${ingress.adminUrl}/admin/orders/BAD1`, basicAuth());
        expect(page.status).toBe(500);
        expect(page.text).toContain('order BAD1: its packed record cannot be read (unknown format');
      } finally {
        await ingress.close();
      }
    },
  );
});
