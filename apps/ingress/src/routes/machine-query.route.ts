import {
  errorAnswer,
  type MachineLayout,
  MachineStatus,
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
  | { kind: 'live'; layouts: MachineLayout[] }
  | { kind: 'unknown' }
  | { kind: 'failed'; reason: string };

/**
 * The container a query answers: the one it names; without one, the machine's only container,
 * or its first by code when it has several (`several` is then true, and the route logs it).
 */
function pick<T>(
  items: T[],
  codeOf: (item: T) => string | undefined,
  containerCode: string | undefined,
): { item: T | undefined; several: boolean } {
  if (containerCode) return { item: items.find((i) => codeOf(i) === containerCode), several: false };
  return { item: items[0], several: items.length > 1 };
}

/**
 * PROTOCOL call 3: the live layout from the machine gateway within MACHINE_QUERY_TIMEOUT_MS
 * (saved as the container's snapshot). `containerCode` in the request picks a container; without
 * one a single-container machine answers it and a machine with several answers its first by code
 * (logged). On a timeout or gateway error: the last known snapshot with machineStatus 20 (offline)
 * — stale data is never presented as live — and a warning. Unknown machine or container (gateway
 * 404, no snapshot) → 40000.
 */
export async function machineQueryRoute(app: FastifyInstance, deps: IngressDeps): Promise<void> {
  const { gateway, machines, metrics } = deps;
  const now = deps.now ?? Date.now;

  async function live(machineCode: string): Promise<Live> {
    try {
      const layouts = await withinTime(
        gateway.getContainers(machineCode),
        deps.config.MACHINE_QUERY_TIMEOUT_MS,
        'the machine gateway',
      );
      return layouts && layouts.length > 0 ? { kind: 'live', layouts } : { kind: 'unknown' };
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
      const containerCode = opened.payload.containerCode || undefined;
      const log = request.log.child({ machineCode, ...(containerCode ? { containerCode } : {}) });
      const state = await live(machineCode);
      if (state.kind === 'live') {
        const results = await Promise.allSettled(state.layouts.map((layout) => machines.save(layout, now())));
        const failed = results.find((r) => r.status === 'rejected');
        if (failed) log.warn({ err: failed.reason }, 'could not save the machine snapshot');
        const { item, several } = pick(state.layouts, (l) => l.containerCode, containerCode);
        if (!item) {
          log.info('machine/query for an unknown container');
          return answer(request, reply, errorAnswer(ResultCode.REQUEST_FAILED, 'container not found'));
        }
        if (several)
          log.info(
            { answered: item.containerCode, containers: state.layouts.map((l) => l.containerCode) },
            'machine/query names no container and the machine has several: answering the first by code',
          );
        return answer(request, reply, okAnswer(item));
      }
      let snapshots: Awaited<ReturnType<typeof machines.list>>;
      try {
        snapshots = await machines.list(machineCode);
      } catch (error) {
        throw new ServiceUnavailableError('gateway failed and the snapshot cannot be read', { cause: error });
      }
      const { item: snapshot, several } = pick(snapshots, (s) => s.layout.containerCode, containerCode);
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
        {
          reason,
          seenAt: snapshot.seenAt,
          ageMs: now() - snapshot.seenAt,
          lastStatus: snapshot.layout.machineStatus,
          ...(several ? { answered: snapshot.layout.containerCode } : {}),
        },
        'machine gateway unavailable: answering the last known snapshot as offline (machineStatus 20)',
      );
      // what we last saw, but not live: the machine is reported offline
      return answer(request, reply, okAnswer({ ...snapshot.layout, machineStatus: MachineStatus.OFFLINE }));
    },
  );
}
