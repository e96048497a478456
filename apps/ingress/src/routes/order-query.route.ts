import { errorAnswer, okAnswer, orderQuerySchema, orderResultSchema, ResultCode } from '@owc/protocol';
import type { FastifyInstance } from 'fastify';
import type { IngressDeps } from '../ingress-deps.js';
import { openRequest } from '../open-request.js';
import { ServiceUnavailableError } from '../service-unavailable-error.js';
import { answer, answerSchema, envelopeBodySchema, owithoRouteOptions } from './owitho-route.js';

const ROUTE = '/order/query';

/**
 * docs/protocol.md call 6: the order's dispense result, read from the same record the callback is
 * built from (outStatus 100 and unit status 100 while dispensing). Unknown order → 40000.
 */
export async function orderQueryRoute(app: FastifyInstance, deps: IngressDeps): Promise<void> {
  app.post(
    ROUTE,
    {
      ...owithoRouteOptions,
      schema: {
        summary: 'order/query: owitho asks for an order dispense result',
        body: envelopeBodySchema('OrderQuery'),
        response: { 200: answerSchema(orderResultSchema), 503: answerSchema() },
      },
    },
    async (request, reply) => {
      const opened = await openRequest(deps, ROUTE, request.body, orderQuerySchema);
      if (!opened.ok) return answer(request, reply, errorAnswer(opened.code, opened.msg));
      const { orderViewId } = opened.payload;
      let result: Awaited<ReturnType<typeof deps.store.queryResult>>;
      try {
        result = await deps.store.queryResult(orderViewId);
      } catch (error) {
        throw new ServiceUnavailableError('cannot read the order', { cause: error });
      }
      if (!result) {
        request.log.info({ orderViewId }, 'order/query for an unknown order');
        return answer(request, reply, errorAnswer(ResultCode.REQUEST_FAILED, 'order not found'));
      }
      return answer(request, reply, okAnswer(result));
    },
  );
}
