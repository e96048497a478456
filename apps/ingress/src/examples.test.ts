import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ApiKeyStore } from '@owc/queues';
import { redisTest } from '@owc/testing';
import { describe, expect } from 'vitest';
import { ADMIN, layout, startTestGateway, startTestIngress } from './ingress.test-kit.js';

const run = promisify(execFile);
const examples = fileURLToPath(new URL('../../../examples/', import.meta.url));
describe('examples/ (enqueueing from the shell and from Python)', () => {
  redisTest(
    'enqueue-sku.sh and enqueue_sku.py enqueue a valid sku.upsert job, idempotently by jobId',
    async ({ redisUrl, prefix }) => {
      const ingress = await startTestIngress(redisUrl, prefix);
      const env = {
        ...process.env,
        ADMIN_URL: ingress.adminUrl,
        ADMIN_USER: ADMIN.user,
        ADMIN_PASSWORD: ADMIN.password,
      };
      const queue = ingress.deps.producer.queue('sku-sync');
      try {
        const shell = await run('sh', [`${examples}enqueue-sku.sh`, 'erp-42'], { env, timeout: 20_000 });
        expect(JSON.parse(shell.stdout)).toEqual({
          jobId: 'ext-erp-42',
          name: 'sku.upsert',
          queue: 'sku-sync',
          duplicate: false,
        });
        const python = await run('python3', [`${examples}enqueue_sku.py`, 'erp-42'], {
          env,
          timeout: 20_000,
        });
        expect(python.stdout).toMatch(/^202 \{"jobId": "ext-erp-42".*"duplicate": true/);
        const fresh = await run('python3', [`${examples}enqueue_sku.py`], { env, timeout: 20_000 });
        expect(fresh.stdout).toMatch(/^202 /);
        expect(await queue.count()).toBe(2);
        const job = await queue.getJob('ext-erp-42');
        expect(job?.data).toMatchObject({ skus: [{ skuCode: '0000001', originalPrice: '2.50' }] });

        const refused = run('sh', [`${examples}enqueue-sku.sh`], {
          env: { ...env, ADMIN_PASSWORD: 'wrong' },
          timeout: 20_000,
        });
        await expect(refused).rejects.toMatchObject({ stdout: expect.stringContaining('unauthorized') });
      } finally {
        await ingress.close();
      }
    },
  );

  redisTest(
    'enqueue-machine.sh (curl), enqueue_machine.py and EnqueueJobs.java (every public job) with an API key',
    async ({ redisUrl, prefix, redis }) => {
      const gateway = await startTestGateway([layout('M001')]);
      const ingress = await startTestIngress(redisUrl, prefix, { env: { MACHINE_GATEWAY_URL: gateway.url } });
      const { key } = await new ApiKeyStore(redis, prefix).create('restock-app', [
        'sku.upsert',
        'machine.restocked',
        'machine.layout',
      ]);
      const env = { ...process.env, ADMIN_URL: ingress.adminUrl, API_KEY: key };
      const machineQueue = ingress.deps.producer.queue('machine-sync');
      try {
        const shell = await run('sh', [`${examples}enqueue-machine.sh`, 'M001'], { env, timeout: 20_000 });
        expect(
          shell.stdout
            .trim()
            .split('\n')
            .map((line) => JSON.parse(line).name),
        ).toEqual(['machine.restocked', 'machine.layout']);
        const unknown = run('sh', [`${examples}enqueue-machine.sh`, 'NOPE'], { env, timeout: 20_000 });
        await expect(unknown).rejects.toMatchObject({ stdout: expect.stringContaining('unknown_machine') });

        const java = await run('java', [`${examples}EnqueueJobs.java`, 'M001', 'java-1'], {
          env,
          timeout: 60_000,
        });
        const answers = java.stdout.trim().split('\n');
        expect(answers.map((line) => line.slice(0, 3))).toEqual(['202', '202', '202']);
        expect(answers[0]).toContain('"jobId":"ext-java-1"');
        expect(await ingress.deps.producer.queue('sku-sync').getJob('ext-java-1')).toBeDefined();
        expect(await machineQueue.count()).toBe(4);

        const python = async (...args: string[]) =>
          (await run('python3', [`${examples}enqueue_machine.py`, ...args], { env, timeout: 20_000 })).stdout
            .trim()
            .split('\n')
            .map((line) => ({ status: line.slice(0, 3), body: JSON.parse(line.slice(4)) }));
        expect(await python('M001', 'restock-7')).toEqual([
          {
            status: '202',
            body: {
              jobId: 'ext-restock-7',
              name: 'machine.restocked',
              queue: 'machine-sync',
              duplicate: false,
            },
          },
          { status: '202', body: expect.objectContaining({ name: 'machine.layout', duplicate: false }) },
        ]);
        // the same restock reported again is enqueued once; the layout is a new job
        expect((await python('M001', 'restock-7')).map(({ body }) => body.duplicate)).toEqual([true, false]);
        expect((await machineQueue.getJob('ext-restock-7'))?.data).toEqual({ machineCode: 'M001' });
        const layouts = (await machineQueue.getJobs(['waiting', 'delayed', 'prioritized'])).filter(
          (job) => job.name === 'machine.layout',
        );
        expect(layouts.map((job) => job.data)).toContainEqual(
          expect.objectContaining({
            machineCode: 'M001',
            slotList: [expect.objectContaining({ originalPrice: '2.50' })],
          }),
        );
        // refused at once, and nothing after the refusal is sent
        const unknownPython = run('python3', [`${examples}enqueue_machine.py`, 'NOPE'], {
          env,
          timeout: 20_000,
        });
        await expect(unknownPython).rejects.toMatchObject({
          stdout: expect.stringMatching(/^422 .*"unknown_machine"/),
        });
        expect(await machineQueue.count()).toBe(7);
      } finally {
        await ingress.close();
        await gateway.close();
      }
    },
  );
});
