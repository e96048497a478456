// The naive ingress routes the benchmarks compare ours with: a bare Fastify `POST /order/notice`
// that enqueues one job per request and answers 200, checking either nothing (`bare`) or exactly
// what the protocol forces on any connector (`verify`: openEnvelope, i.e. the signature, `data`
// parsed and the order-notice schema; the job keyed by the orderViewId). No order record, no
// logging, no metrics.
import { errorAnswer, okAnswer, openEnvelope, orderNoticeSchema } from '@owc/protocol';
import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';

export type NaiveCheck =
  | { kind: 'bare' }
  | { kind: 'verify'; appId: string; tokens: readonly string[]; toleranceMs: number };

export function naiveNoticeRoute(app: FastifyInstance, queue: Queue, check: NaiveCheck): void {
  if (check.kind === 'bare') {
    app.post('/order/notice', async (request) => {
      await queue.add('order.dispense', request.body, { removeOnComplete: true });
      return okAnswer();
    });
    return;
  }
  const { appId, tokens, toleranceMs } = check;
  app.post('/order/notice', async (request) => {
    const opened = openEnvelope(
      request.body,
      { appId, tokens, now: Date.now(), toleranceMs },
      orderNoticeSchema,
    );
    if (!opened.ok) return errorAnswer(opened.code, opened.msg);
    await queue.add('order', opened.payload, { jobId: opened.payload.orderViewId, removeOnComplete: true });
    return okAnswer();
  });
}
