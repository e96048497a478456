import { machineLayoutOutSchema, openEnvelope, orderResultSchema, skuSyncOutSchema } from '@owc/protocol';
import type { FastifyInstance } from 'fastify';
import type { OwithoSim } from '../owitho-sim.js';
import { platformAnswer } from './platform-answer.js';

/**
 * calls 1, 2 and 5: what the connector sends to owitho. They are checked with the STRICT schemas
 * (`*OutSchema`: money with exactly two decimals), so the simulator catches us if we ever send a
 * form we only tolerate on reading.
 */
export async function platformRoutes(
  app: FastifyInstance,
  routeOptions: { sim: OwithoSim; appId: string },
): Promise<void> {
  const { sim } = routeOptions;
  const options = routeOptions;
  const envelopeOptions = () => ({
    appId: options.appId,
    tokens: sim.liveTokens(),
    now: sim.now(),
    toleranceMs: sim.settings.utcToleranceMs,
  });

  app.post('/sku/sync', async (request, reply) => {
    const opened = openEnvelope(request.body, envelopeOptions(), skuSyncOutSchema);
    if (!opened.ok) return platformAnswer(sim, '/sku/sync', reply, opened.code, opened.msg);
    sim.recordSkus(opened.payload.skuList);
    return platformAnswer(sim, '/sku/sync', reply, 200, 'success');
  });

  app.post('/machine/sync', async (request, reply) => {
    const opened = openEnvelope(request.body, envelopeOptions(), machineLayoutOutSchema);
    if (!opened.ok) return platformAnswer(sim, '/machine/sync', reply, opened.code, opened.msg);
    sim.recordLayout(opened.payload);
    return platformAnswer(sim, '/machine/sync', reply, 200, 'success');
  });

  app.post('/order/callback', async (request, reply) => {
    const opened = openEnvelope(request.body, envelopeOptions(), orderResultSchema);
    if (!opened.ok) return platformAnswer(sim, '/order/callback', reply, opened.code, opened.msg);
    const f = sim.currentFaults();
    if (f.callbackCode50002 && (!f.path || f.path === '/order/callback')) {
      sim.refuseCallback(opened.payload.orderViewId);
      return platformAnswer(sim, '/order/callback', reply, 50002, 'order callback failed (injected)');
    }
    if (opened.payload.outStatus === 100) {
      return platformAnswer(
        sim,
        '/order/callback',
        reply,
        40000,
        'request failed: data.outStatus: 100 is never a callback',
      );
    }
    sim.recordCallback(opened.payload);
    return platformAnswer(sim, '/order/callback', reply, 200, 'success');
  });
}
