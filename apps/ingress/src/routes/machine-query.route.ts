import {
  errorAnswer,
  type MachineLayout,
  machineLayoutOutSchema,
  machineQuerySchema,
  okAnswer,
  ResultCode,
} from '@owc/protocol';
import type { FastifyInstance } from 'fastify';
import type { IngressDeps } from '../ingress-deps.js';
import { openRequest } from '../open-request.js';
import { ServiceUnavailableError } from '../service-unavailable-error.js';
import { withinTime } from '../time-limit.js';
import { answer, answerSchema, envelopeBodySchema, owithoRouteOptions } from './owitho-route.js';

const ROUTE = '/machine/query';

type Live =
  | { kind: 'live'; layout: MachineLayout }
  | { kind: 'unknown' }
  | { kind: 'failed'; reason: string };

/**
 * docs/protocol.md call 3: the live layout from the machine gateway within MACHINE_QUERY_TIMEOUT_MS
 * (saved as the machine's snapshot); on a timeout or gateway error, the last known snapshot
 * with machineStatus as last seen. Unknown machine (gateway 404, no snapshot) → 40000.
 */
export async function machineQueryRoute(app: FastifyInstance, deps: IngressDeps): Promise<void> {
  const { gateway, machines, metrics } = deps;
  const now = deps.now ?? Date.now;

  async function live(machineCode: string): Promise<Live> {
    try {
      const layout = await withinTime(
        gateway.getMachine(machineCode),
        deps.config.MACHINE_QUERY_TIMEOUT_MS,
        'the machine gateway',
      );
      return layout ? { kind: 'live', layout } : { kind: 'unknown' };
    } catch (error) {
      return { kind: 'failed', reason: error instanceof Error ? error.name : 'error' };
    }
  }

  app.post(
    ROUTE,
    {
      ...owithoRouteOptions,
      schema: {
        summary: 'machine/query: owitho asks for a machine live state and shelf layout',
        body: envelopeBodySchema('MachineQuery'),
        response: { 200: answerSchema(machineLayoutOutSchema), 503: answerSchema() },
      },
    },
    async (request, reply) => {
      const opened = await openRequest(deps, ROUTE, request.body, machineQuerySchema);
      if (!opened.ok) return answer(request, reply, errorAnswer(opened.code, opened.msg));
      const { machineCode } = opened.payload;
      const log = request.log.child({ machineCode });
      const state = await live(machineCode);
      if (state.kind === 'live') {
        try {
          await machines.save(state.layout, now());
        } catch (error) {
          log.warn({ err: error }, 'could not save the machine snapshot');
        }
        return answer(request, reply, okAnswer(state.layout));
      }
      let snapshot: Awaited<ReturnType<typeof machines.get>>;
      try {
        snapshot = await machines.get(machineCode);
      } catch (error) {
        throw new ServiceUnavailableError('gateway failed and the snapshot cannot be read', { cause: error });
      }
      if (!snapshot) {
        if (state.kind === 'unknown') {
          log.info('machine/query for an unknown machine');
          return answer(request, reply, errorAnswer(ResultCode.REQUEST_FAILED, 'machine not found'));
        }
        log.warn({ reason: state.reason }, 'machine gateway failed and no snapshot exists');
        throw new ServiceUnavailableError(`machine gateway failed (${state.reason}) and no snapshot exists`);
      }
      const reason = state.kind === 'unknown' ? 'unknown' : state.reason;
      metrics.snapshotAnswers.inc({ reason });
      log.warn(
        { reason, seenAt: snapshot.seenAt, ageMs: now() - snapshot.seenAt },
        'machine gateway unavailable: answering the last known snapshot',
      );
      return answer(request, reply, okAnswer(snapshot.layout));
    },
  );
}
