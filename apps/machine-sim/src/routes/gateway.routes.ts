import { vendIdSchema, vendRequestSchema } from '@owc/gateway';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { MachineSim } from '../machine-sim.js';
import { parseOrReply } from './invalid-input.js';

const machineParams = z.object({ machineCode: z.string().min(1).max(128) });
const vendParams = z.object({ vendId: vendIdSchema });
const machineQuery = z.object({ containerCode: z.string().min(1).max(128).optional() });

/** docs/gateway.md: the production contract. */
export async function gatewayRoutes(app: FastifyInstance, options: { sim: MachineSim }): Promise<void> {
  const { sim } = options;

  app.post('/machines/:machineCode/vends', async (request, reply) => {
    const params = parseOrReply(machineParams, request.params, reply);
    if (!params) return reply;
    const body = parseOrReply(vendRequestSchema, request.body, reply);
    if (!body) return reply;
    const outcome = await sim.vend(params.machineCode, body);
    switch (outcome.kind) {
      case 'unknown_machine':
        return reply.code(404).send({ error: 'unknown_machine' });
      case 'invalid':
        return reply.code(400).send({ error: outcome.error, field: outcome.field, message: outcome.message });
      case 'answer':
        return reply.code(200).send(outcome.answer);
    }
  });

  app.get('/vends/:vendId', async (request, reply) => {
    const params = parseOrReply(vendParams, request.params, reply);
    if (!params) return reply;
    const answer = sim.getVend(params.vendId);
    if (!answer) return reply.code(404).send({ error: 'unknown_vend' });
    return reply.code(200).send(answer);
  });

  app.get('/machines/:machineCode', async (request, reply) => {
    const params = parseOrReply(machineParams, request.params, reply);
    if (!params) return reply;
    const query = parseOrReply(machineQuery, request.query ?? {}, reply);
    if (!query) return reply;
    if (!sim.getMachine(params.machineCode)) return reply.code(404).send({ error: 'unknown_machine' });
    const state = sim.getMachineState(params.machineCode, query.containerCode);
    if (!state)
      return reply.code(404).send({
        error: 'unknown_container',
        field: 'containerCode',
        message: `machine ${params.machineCode} has no container ${query.containerCode}`,
      });
    return reply.code(200).send(state);
  });
}
