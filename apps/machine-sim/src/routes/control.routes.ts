import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { MachineSim } from '../machine-sim.js';
import { ledgerQuerySchema, machineFaultsSchema, restockSchema, slotFaultsSchema } from '../sim.schema.js';
import { parseOrReply } from './invalid-input.js';

const machineParams = z.object({ machineCode: z.string().min(1).max(128) });
const slotParams = z.object({ machineCode: z.string().min(1).max(128), slotNum: z.string().min(1).max(32) });

/** The simulator's own API: inspection, fault injection, restock, reset (not in docs/gateway.md). */
export async function controlRoutes(app: FastifyInstance, options: { sim: MachineSim }): Promise<void> {
  const { sim } = options;

  app.get('/ledger', async (request, reply) => {
    const query = parseOrReply(ledgerQuerySchema, request.query, reply, 'query');
    if (!query) return reply;
    return reply.send(sim.ledger(query));
  });

  app.get('/_sim/stats', async (_request, reply) => reply.send(sim.stats()));
  app.get('/_sim/overlaps', async (_request, reply) => reply.send(sim.overlaps()));
  app.get('/_sim/restocks', async (_request, reply) => reply.send(sim.restocks()));

  app.get('/_sim/machines', async (_request, reply) =>
    reply.send(
      sim.machineCodes().map((machineCode) => ({
        layout: sim.getMachine(machineCode),
        faults: sim.faultsOf(machineCode),
      })),
    ),
  );

  app.get('/_sim/machines/:machineCode/faults', async (request, reply) => {
    const params = parseOrReply(machineParams, request.params, reply);
    if (!params) return reply;
    const faults = sim.faultsOf(params.machineCode);
    if (!faults) return reply.code(404).send({ error: 'unknown_machine' });
    return reply.send(faults);
  });

  app.post('/_sim/machines/:machineCode/faults', async (request, reply) => {
    const params = parseOrReply(machineParams, request.params, reply);
    if (!params) return reply;
    const faults = parseOrReply(machineFaultsSchema, request.body, reply);
    if (!faults) return reply;
    if (!sim.setMachineFaults(params.machineCode, faults)) {
      return reply.code(404).send({ error: 'unknown_machine' });
    }
    return reply.send(sim.faultsOf(params.machineCode));
  });

  app.post('/_sim/machines/:machineCode/slots/:slotNum/faults', async (request, reply) => {
    const params = parseOrReply(slotParams, request.params, reply);
    if (!params) return reply;
    const faults = parseOrReply(slotFaultsSchema, request.body, reply);
    if (!faults) return reply;
    const error = sim.setSlotFaults(params.machineCode, params.slotNum, faults);
    if (error === 'unknown_machine') return reply.code(404).send({ error });
    if (error === 'unknown_slot') {
      return reply.code(404).send({ error, field: 'slotNum' });
    }
    return reply.send(sim.faultsOf(params.machineCode));
  });

  app.post('/_sim/machines/:machineCode/restock', async (request, reply) => {
    const params = parseOrReply(machineParams, request.params, reply);
    if (!params) return reply;
    // no body at all means "fill every slot"
    const restock = parseOrReply(restockSchema, request.body === undefined ? {} : request.body, reply);
    if (!restock) return reply;
    const result = sim.restock(params.machineCode, restock, restock.containerCode);
    if ('layout' in result) return reply.send(result.layout);
    if (result.error === 'unknown_machine') return reply.code(404).send({ error: 'unknown_machine' });
    return reply.code(400).send({ error: 'invalid_request', field: result.field, message: result.message });
  });

  app.post('/_sim/reset', async (_request, reply) => {
    sim.reset();
    return reply.send({ ok: true });
  });
}
