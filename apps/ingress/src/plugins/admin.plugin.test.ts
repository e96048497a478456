import { redisTest } from '@owc/testing';
import { describe, expect } from 'vitest';
import { basicAuth, post, startTestIngress } from '../ingress.test-kit.js';
import { secretsEqual } from './admin.plugin.js';

const sku = (code: string, price = '2.50') => ({
  skuCode: code,
  skuName: 'Cola',
  skuUnit: '罐',
  skuSpec: '330ml',
  originalPrice: price,
  skuPic: 'https://img.example.com/cola.png',
});

async function get(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
  return { status: response.status, text: await response.text(), headers: response.headers };
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
          queues: { name: string; readOnlyMode: boolean }[];
        };
        expect(queues.queues.map((q) => q.name).sort()).toEqual([
          'callback',
          'dispense',
          'machine-sync',
          'sku-sync',
        ]);
        expect(queues.queues.every((q) => q.readOnlyMode === false)).toBe(true);
      } finally {
        await ingress.close();
      }
    },
  );

  redisTest('DASHBOARD_READ_ONLY puts every queue in read-only mode', async ({ redisUrl, prefix }) => {
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
});

describe('POST /admin/jobs/:name', () => {
  redisTest(
    '401 anonymous, 404 unknown name, 400 naming the field, 202 with the job id',
    async ({ redisUrl, prefix }) => {
      const ingress = await startTestIngress(redisUrl, prefix);
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
          jobs: expect.arrayContaining(['sku.upsert']),
        });

        const bad = await post(url('sku.upsert'), { skus: [sku('A', '10.555')] }, { headers: basicAuth() });
        expect(bad.status).toBe(400);
        expect(bad.body).toMatchObject({ error: 'invalid_payload' });
        expect((bad.body as { message: string }).message).toMatch(/skus\.0\.originalPrice/);

        const missing = await post(
          url('machine.restocked'),
          { containerCode: '01' },
          { headers: basicAuth() },
        );
        expect(missing.status).toBe(400);
        expect((missing.body as { message: string }).message).toMatch(/machineCode/);
        expect(await queue.count()).toBe(0);

        const good = await post(url('sku.upsert'), { skus: [sku('A'), sku('B')] }, { headers: basicAuth() });
        expect(good.status).toBe(202);
        const { jobId } = good.body as { jobId: string };
        expect(good.body).toEqual({ jobId, name: 'sku.upsert', queue: 'sku-sync' });
        const job = await queue.getJob(jobId);
        expect(job?.name).toBe('sku.upsert');
        expect(job?.data).toEqual({ skus: [sku('A'), sku('B')] });
      } finally {
        await ingress.close();
      }
    },
  );

  redisTest(
    '?jobId= makes the enqueue idempotent; a job id BullMQ refuses is a 400',
    async ({ redisUrl, prefix }) => {
      const ingress = await startTestIngress(redisUrl, prefix);
      const queue = ingress.deps.producer.queue('machine-sync');
      try {
        for (let i = 0; i < 3; i++) {
          const answer = await post(
            `${ingress.adminUrl}/admin/jobs/machine.restocked?jobId=restock-M001-42`,
            { machineCode: 'M001' },
            { headers: basicAuth() },
          );
          expect(answer.status).toBe(202);
          expect(answer.body).toMatchObject({ jobId: 'restock-M001-42' });
        }
        expect(await queue.count()).toBe(1);
        for (const jobId of ['a:b', '42']) {
          const refused = await post(
            `${ingress.adminUrl}/admin/jobs/machine.restocked?jobId=${encodeURIComponent(jobId)}`,
            { machineCode: 'M001' },
            { headers: basicAuth() },
          );
          expect({ jobId, status: refused.status }).toEqual({ jobId, status: 400 });
        }
        expect(await queue.count()).toBe(1);
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
