import { redisTest } from '@owc/testing';
import { describe, expect } from 'vitest';
import {
  capturedLogger,
  layout,
  metricValue,
  post,
  signed,
  startTestGateway,
  startTestIngress,
} from '../ingress.test-kit.js';

describe('POST /machine/query', () => {
  redisTest('answers the live layout and saves it as the snapshot', async ({ redisUrl, prefix }) => {
    const gateway = await startTestGateway([layout('M001', 7)]);
    const ingress = await startTestIngress(redisUrl, prefix, {
      env: { MACHINE_GATEWAY_URL: gateway.url },
    });
    try {
      const answer = await post(`${ingress.url}/machine/query`, signed({ machineCode: 'M001' }));
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ code: 200, msg: 'success', data: layout('M001', 7) });
      const snapshot = await ingress.deps.machines.get('M001');
      expect(snapshot?.layout).toEqual(layout('M001', 7));
      const unknown = await post(`${ingress.url}/machine/query`, signed({ machineCode: 'M404' }));
      expect(unknown.body).toEqual({ code: 40000, msg: 'machine not found' });
    } finally {
      await ingress.close();
      await gateway.close();
    }
  });

  redisTest(
    'gateway slow, then gone: the last snapshot reported offline (machineStatus 20), with a log line',
    async ({ redisUrl, prefix }) => {
      const gateway = await startTestGateway([layout('M001', 7, 30)]);
      const { logger, lines } = capturedLogger();
      const ingress = await startTestIngress(redisUrl, prefix, {
        logger,
        env: { MACHINE_GATEWAY_URL: gateway.url, MACHINE_QUERY_TIMEOUT_MS: '200' },
      });
      const query = () => post(`${ingress.url}/machine/query`, signed({ machineCode: 'M001' }));
      try {
        expect((await query()).body).toMatchObject({ code: 200, data: layout('M001', 7, 30) });
        // the machine changes, but the gateway stops answering in time
        gateway.machines.set('M001', layout('M001', 2, 10));
        gateway.hang.on = true;
        const slow = await query();
        expect(slow.status).toBe(200);
        expect(slow.body).toEqual({ code: 200, msg: 'success', data: layout('M001', 7, 20) });
        expect(lines.join('')).toContain('answering the last known snapshot as offline');

        await gateway.close();
        const gone = await query();
        expect(gone.body).toEqual({ code: 200, msg: 'success', data: layout('M001', 7, 20) });
        const metrics = await (await fetch(`${ingress.adminUrl}/metrics`)).text();
        expect(metricValue(metrics, 'owc_ingress_machine_snapshot_answers_total')).toBeGreaterThan(0);

        // never seen and the gateway is down: we cannot say "unknown", so owitho should retry
        const never = await post(`${ingress.url}/machine/query`, signed({ machineCode: 'M777' }));
        expect(never.status).toBe(503);
        expect(never.body).toMatchObject({ code: 40000 });
      } finally {
        await ingress.close();
        await gateway.close();
      }
    },
  );

  redisTest(
    'a machine with several containers: containerCode picks one; without, the first by code (logged)',
    async ({ redisUrl, prefix }) => {
      const a1 = layout('M002', 4);
      const b2 = layout('M002', 9);
      const multi = {
        machineCode: 'M002',
        machineStatus: 10 as const,
        containers: [
          { containerCode: 'B2', machineStatus: 30 as const, slotList: b2.slotList },
          { containerCode: 'A1', slotList: a1.slotList },
        ],
      };
      const gateway = await startTestGateway([multi]);
      const { logger, lines } = capturedLogger();
      const ingress = await startTestIngress(redisUrl, prefix, {
        logger,
        env: { MACHINE_GATEWAY_URL: gateway.url, MACHINE_QUERY_TIMEOUT_MS: '500' },
      });
      const query = (data: Record<string, unknown>) =>
        post(`${ingress.url}/machine/query`, signed({ machineCode: 'M002', ...data }));
      const a1Live = { ...a1, containerCode: 'A1' };
      const b2Live = { ...b2, containerCode: 'B2', machineStatus: 30 };
      try {
        expect((await query({ containerCode: 'B2' })).body).toEqual({
          code: 200,
          msg: 'success',
          data: b2Live,
        });
        expect((await query({ containerCode: 'A1' })).body).toEqual({
          code: 200,
          msg: 'success',
          data: a1Live,
        });
        expect((await query({})).body).toEqual({ code: 200, msg: 'success', data: a1Live });
        expect((await query({ containerCode: '' })).body).toEqual({
          code: 200,
          msg: 'success',
          data: a1Live,
        });
        expect(lines.join('')).toContain('answering the first by code');
        expect((await query({ containerCode: 'Z9' })).body).toEqual({
          code: 40000,
          msg: 'container not found',
        });
        // both containers have their own snapshot; with the gateway gone each answers offline
        await gateway.close();
        expect((await query({ containerCode: 'B2' })).body).toEqual({
          code: 200,
          msg: 'success',
          data: { ...b2Live, machineStatus: 20 },
        });
        expect((await query({})).body).toEqual({
          code: 200,
          msg: 'success',
          data: { ...a1Live, machineStatus: 20 },
        });
        expect((await ingress.deps.machines.list('M002')).map((s) => s.layout.containerCode)).toEqual([
          'A1',
          'B2',
        ]);
      } finally {
        await ingress.close();
        await gateway.close();
      }
    },
  );
});
