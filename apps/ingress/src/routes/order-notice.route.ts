import {
  errorAnswer,
  type OrderNotice,
  okAnswer,
  orderNoticeSchema,
  ResultCode,
  unknownEnumFields,
} from '@owc/protocol';
import { dispenseJobId } from '@owc/queues';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { IngressDeps } from '../ingress-deps.js';
import { openRequest } from '../open-request.js';
import { amountMismatches } from '../order-amounts.js';
import { orderLimitBreach } from '../order-limits.js';
import { ServiceUnavailableError } from '../service-unavailable-error.js';
import { withinTime } from '../time-limit.js';
import { answer, answerSchema, envelopeBodySchema, owithoRouteOptions } from './owitho-route.js';

const ROUTE = '/order/notice';

/**
 * docs/protocol.md call 4. Ack means durable: 200 only once the order record and its dispense job
 * both exist. The record is written first (one script: created | duplicate | conflict); the job
 * id is derived from the orderViewId, so writing the job again is a no-op. A crash or a Redis
 * error between the two answers 503, and owitho's re-push (a duplicate of a record still
 * `accepted`) writes the job again: the pair converges to "both exist" before any 200.
 */
export async function orderNoticeRoute(app: FastifyInstance, deps: IngressDeps): Promise<void> {
  const { store, producer, metrics } = deps;

  const ensureDispenseJob = (orderViewId: string, machineCode: string) =>
    producer.enqueue('order.dispense', { orderViewId, machineCode }, { jobId: dispenseJobId(orderViewId) });

  async function accept(notice: OrderNotice, log: FastifyBaseLogger): Promise<string> {
    let accepted: Awaited<ReturnType<typeof store.accept>>;
    try {
      accepted = await store.accept(notice);
    } catch (error) {
      throw new ServiceUnavailableError('cannot write the order record', { cause: error });
    }
    const { outcome, state } = accepted;
    const bookkeeping: Promise<unknown>[] = [];
    if (outcome === 'created') {
      await writeJob(() => ensureDispenseJob(notice.orderViewId, notice.machineCode));
      bookkeeping.push(store.indexAccepted(notice.orderViewId), store.count('accepted'));
      log.info({ state }, 'order accepted');
    } else if (outcome === 'duplicate') {
      metrics.duplicates.inc();
      // still `accepted`: the job may be missing if an earlier attempt failed between record and job
      if (state === 'accepted') {
        await writeJob(() => ensureDispenseJob(notice.orderViewId, notice.machineCode));
        bookkeeping.push(store.indexAccepted(notice.orderViewId));
      }
      bookkeeping.push(store.count('duplicates'));
      log.info({ state }, 'duplicate notice: acknowledged, nothing changed');
    } else {
      metrics.conflicts.inc();
      if (state === 'accepted') {
        // heal the stored order's job (never the conflicting notice's content)
        const record = await writeJob(() => store.get(notice.orderViewId));
        if (record) await writeJob(() => ensureDispenseJob(record.orderViewId, record.machineCode));
      }
      bookkeeping.push(store.count('conflicts'));
      log.warn({ state }, 'conflicting notice: differs from the stored order; acknowledged, not dispensed');
    }
    // the index and counters are advisory: the record and the job are what 200 promises
    const failed = (await Promise.allSettled(bookkeeping)).find((r) => r.status === 'rejected');
    if (failed) log.warn({ err: failed.reason }, 'order bookkeeping (index, counters) failed');
    return outcome;
  }

  app.post(
    ROUTE,
    {
      ...owithoRouteOptions,
      schema: {
        summary: 'order/notice: owitho pushes a paid (or failed/refunded) order',
        description:
          'Idempotent on orderViewId: duplicates and conflicting re-pushes are answered 200 and change nothing. ' +
          'HTTP 503 with code 40000 when the order cannot be durably accepted: retry.',
        body: envelopeBodySchema('OrderNotice'),
        response: { 200: answerSchema(), 503: answerSchema() },
      },
    },
    async (request, reply) => {
      const opened = await openRequest(deps, ROUTE, request.body, orderNoticeSchema);
      if (!opened.ok) return answer(request, reply, errorAnswer(opened.code, opened.msg));
      const notice = opened.payload;
      const log = request.log.child({ orderViewId: notice.orderViewId, machineCode: notice.machineCode });
      const breach = orderLimitBreach(notice, deps.config);
      if (breach) {
        deps.metrics.envelopeRejections.inc({ route: ROUTE, code: String(ResultCode.REQUEST_FAILED) });
        log.warn({ breach }, 'order notice above a configured limit: refused');
        return answer(request, reply, errorAnswer(ResultCode.REQUEST_FAILED, `request failed: ${breach}`));
      }
      for (const field of unknownEnumFields(notice)) {
        // kept as sent: an unknown payStatus/refundStatus is acknowledged and settled 400, never dispensed
        metrics.unknownEnums.inc({ field });
        log.warn({ field, value: notice[field] }, 'order notice carries a value outside the guide (kept)');
      }
      for (const kind of amountMismatches(notice)) {
        metrics.amountMismatches.inc({ kind });
        log.warn(
          {
            kind,
            actualAmount: notice.actualAmount,
            originAmount: notice.originAmount,
            discountMoney: notice.discountMoney,
          },
          'order amounts do not add up (accepted anyway)',
        );
      }
      const started = performance.now();
      const outcome = await withinTime(
        accept(notice, log),
        deps.config.NOTICE_ACCEPT_TIMEOUT_MS,
        'accepting the notice',
      ).catch((error: unknown) => {
        metrics.acceptSeconds.observe({ outcome: 'unavailable' }, (performance.now() - started) / 1000);
        throw error;
      });
      metrics.acceptSeconds.observe({ outcome }, (performance.now() - started) / 1000);
      return answer(request, reply, okAnswer());
    },
  );
}

async function writeJob<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    throw new ServiceUnavailableError('cannot write the dispense job', { cause: error });
  }
}
