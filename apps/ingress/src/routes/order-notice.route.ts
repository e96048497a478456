import {
  errorAnswer,
  type OrderNotice,
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
import { answer, answerOk, answerSchema, envelopeBodySchema, owithoRouteOptions } from './owitho-route.js';

const ROUTE = '/order/notice';

/**
 * docs/protocol.md call 4. Ack means durable: 200 only once the order record and its dispense job
 * both exist. The record is written first (one script: created | duplicate | conflict; it also
 * starts the order's timeline); then, in one round trip, the job (its id is derived from the
 * orderViewId, so writing it again is a no-op) and the bookkeeping (open index, the console's
 * search logs, the counter: advisory, another hash tag). A crash or a Redis error before the
 * job exists answers 503, and owitho's re-push (a duplicate of a record still `accepted`) writes
 * the job again: the pair converges to "both exist" before any 200.
 */
export async function orderNoticeRoute(app: FastifyInstance, deps: IngressDeps): Promise<void> {
  const { store, producer, metrics } = deps;
  // one histogram child per outcome, looked up once (not its labels hashed per request)
  const acceptSeconds = new Map<string, { observe(seconds: number): void }>();
  const observeAccept = (outcome: string, started: number) => {
    let histogram = acceptSeconds.get(outcome);
    if (!histogram) {
      histogram = metrics.acceptSeconds.labels({ outcome });
      acceptSeconds.set(outcome, histogram);
    }
    histogram.observe((performance.now() - started) / 1000);
  };

  const ensureDispenseJob = (orderViewId: string, machineCode: string) =>
    writeJob(() =>
      producer.enqueue('order.dispense', { orderViewId, machineCode }, { jobId: dispenseJobId(orderViewId) }),
    );

  // no per-request child logger: the order's fields go into the few lines written
  async function accept(notice: OrderNotice, log: FastifyBaseLogger): Promise<string> {
    let accepted: Awaited<ReturnType<typeof store.accept>>;
    try {
      accepted = await store.accept(notice);
    } catch (error) {
      throw new ServiceUnavailableError('cannot write the order record', { cause: error });
    }
    const { outcome, state } = accepted;
    const order = { orderViewId: notice.orderViewId, machineCode: notice.machineCode, state };
    // still `accepted`: the job may be missing if an earlier attempt failed between record and job
    const open = state === 'accepted';
    // a new order, or a re-push of one whose job may be missing: write the job and index the order
    const writesJob = outcome === 'created' || (outcome === 'duplicate' && open);
    // the index and counters are advisory: the record and the job are what 200 promises
    const bookkeeping = store.bookAccepted(notice, outcome, writesJob).then(
      () => undefined,
      (error: unknown) => log.warn({ err: error, ...order }, 'order bookkeeping (index, counters) failed'),
    );
    try {
      if (writesJob) {
        await ensureDispenseJob(notice.orderViewId, notice.machineCode);
      } else if (outcome === 'conflict' && open) {
        // heal the stored order's job (never the conflicting notice's content)
        const record = await writeJob(() => store.get(notice.orderViewId));
        if (record) await ensureDispenseJob(record.orderViewId, record.machineCode);
      }
    } finally {
      await bookkeeping;
    }
    if (outcome === 'created') {
      log.debug(order, 'order accepted');
    } else if (outcome === 'duplicate') {
      metrics.duplicates.inc();
      log.info(order, 'duplicate notice: acknowledged, nothing changed');
    } else {
      metrics.conflicts.inc();
      log.warn(order, 'conflicting notice: differs from the stored order; acknowledged, not dispensed');
    }
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
      const log = request.log;
      const ids = { orderViewId: notice.orderViewId, machineCode: notice.machineCode };
      const breach = orderLimitBreach(notice, deps.config);
      if (breach) {
        deps.metrics.envelopeRejections.inc({ route: ROUTE, code: String(ResultCode.REQUEST_FAILED) });
        log.warn({ ...ids, breach }, 'order notice above a configured limit: refused');
        return answer(request, reply, errorAnswer(ResultCode.REQUEST_FAILED, `request failed: ${breach}`));
      }
      for (const field of unknownEnumFields(notice)) {
        // kept as sent: an unknown payStatus/refundStatus is acknowledged and settled 400, never dispensed
        metrics.unknownEnums.inc({ field });
        log.warn(
          { ...ids, field, value: notice[field] },
          'order notice carries a value outside the guide (kept)',
        );
      }
      for (const kind of amountMismatches(notice)) {
        metrics.amountMismatches.inc({ kind });
        log.warn(
          {
            ...ids,
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
        observeAccept('unavailable', started);
        throw error;
      });
      observeAccept(outcome, started);
      return answerOk(request, reply);
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
