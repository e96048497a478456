import type { FastifyInstance } from 'fastify';
import type { OwithoSim } from '../owitho-sim.js';
import {
  faultsSchema,
  pushGeneratedSchema,
  pushNoticesSchema,
  rawPushSchema,
  streamSchema,
} from '../sim.schema.js';
import { badRequest } from './bad-request.js';

/** The control API under `/_sim` (JSON; never subject to faults): state, faults, pushes, stream. */
export async function controlRoutes(
  app: FastifyInstance,
  routeOptions: { sim: OwithoSim; thirdUrl?: string | undefined },
): Promise<void> {
  const { sim } = routeOptions;
  const options = routeOptions;
  app.get('/_sim/state', async () => sim.state());
  app.get('/_sim/requests', async () => sim.requestCounts());
  app.get('/_sim/orders', async () => sim.orders());
  app.get('/_sim/orders/:id', async (request, reply) => {
    const state = sim.order((request.params as { id: string }).id);
    return state ? state : reply.code(404).send({ error: 'unknown_order' });
  });
  app.get('/_sim/orders/:id/callbacks', async (request, reply) => {
    const state = sim.order((request.params as { id: string }).id);
    return state ? state.callbacks : reply.code(404).send({ error: 'unknown_order' });
  });
  app.get('/_sim/catalogue', async () => sim.catalogue());
  app.get('/_sim/machines', async () => sim.machines());
  app.get('/_sim/machines/:code', async (request, reply) => {
    const { containerCode } = request.query as { containerCode?: string };
    const layout = sim.machine((request.params as { code: string }).code, containerCode);
    return layout ? layout : reply.code(404).send({ error: 'unknown_machine' });
  });
  app.get('/_sim/faults', async () => sim.currentFaults());
  app.post('/_sim/faults', async (request, reply) => {
    const parsed = faultsSchema.safeParse(request.body ?? {});
    if (!parsed.success) return badRequest(reply, parsed.error);
    sim.setFaults(parsed.data);
    return sim.currentFaults();
  });
  app.delete('/_sim/faults', async () => {
    sim.clearFaults();
    return {};
  });
  app.post('/_sim/token/revoke', async () => {
    sim.revokeCurrentToken();
    return { revoked: true };
  });
  app.post('/_sim/orders', async (request, reply) => {
    const body: unknown = request.body;
    const isNotices = typeof body === 'object' && body !== null && 'orders' in body;
    if (!options.thirdUrl)
      return reply
        .code(409)
        .send({ error: 'no_third_url', message: 'start the simulator with a thirdUrl to push orders' });
    if (isNotices) {
      const parsed = pushNoticesSchema.safeParse(body);
      if (!parsed.success) return badRequest(reply, parsed.error);
      for (const notice of parsed.data.orders) sim.pushOrder(notice);
      return reply.code(202).send({ orderViewIds: parsed.data.orders.map((o) => o.orderViewId) });
    }
    const parsed = pushGeneratedSchema.safeParse(body);
    if (!parsed.success) return badRequest(reply, parsed.error);
    try {
      const ids = sim.pushGenerated(parsed.data.generate, {
        ...(parsed.data.machineCode ? { machineCode: parsed.data.machineCode } : {}),
        ...(parsed.data.unpaid ? { unpaid: true } : {}),
      });
      return reply.code(202).send({ orderViewIds: ids });
    } catch (error) {
      return reply
        .code(400)
        .send({ error: 'bad_request', field: 'machineCode', message: (error as Error).message });
    }
  });
  app.get('/_sim/stream', async () => ({ stream: sim.currentStream() ?? null }));
  app.post('/_sim/stream', async (request, reply) => {
    const parsed = streamSchema.safeParse(request.body);
    if (!parsed.success) return badRequest(reply, parsed.error);
    if (!options.thirdUrl)
      return reply
        .code(409)
        .send({ error: 'no_third_url', message: 'start the simulator with a thirdUrl to push orders' });
    const { ratePerSec, machineCode, unpaid } = parsed.data;
    if (machineCode && !sim.knowsMachine(machineCode)) {
      return reply.code(400).send({
        error: 'bad_request',
        field: 'machineCode',
        message: `no layout known for machine ${machineCode}`,
      });
    }
    sim.startStream({ ratePerSec, ...(machineCode ? { machineCode } : {}), ...(unpaid ? { unpaid } : {}) });
    return { stream: sim.currentStream() ?? null };
  });
  app.delete('/_sim/stream', async () => {
    sim.stopStream();
    return { stream: null };
  });
  app.post('/_sim/reset', async () => {
    sim.reset();
    return { reset: true };
  });
  app.post('/_sim/raw', async (request, reply) => {
    const parsed = rawPushSchema.safeParse(request.body);
    if (!parsed.success) return badRequest(reply, parsed.error);
    if (!options.thirdUrl)
      return reply
        .code(409)
        .send({ error: 'no_third_url', message: 'start the simulator with a thirdUrl to push' });
    const { path, payload, data } = parsed.data;
    const answer = await sim.pushRaw(path, data === undefined ? { payload } : { data });
    return reply.code(200).send(answer);
  });
}
