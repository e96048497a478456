// The naive connector: what a hand-written connector with no order store, no machine lease and
// no ask-before-retry looks like. It is the peer the order-path benchmark compares us with.
//   naive-connector.ts ingress <redisUrl> <prefix> <port> <token>
//     Fastify: POST /order/notice → envelope checks (the same openEnvelope) → queue.add with the
//     orderViewId as jobId (the job is the only record) → 200
//   naive-connector.ts worker <redisUrl> <prefix> <gatewayUrl> <owithoUrl> <token> <dispense> <callback> [job|inline]
//     dispense: vend every unit (POST /vends; no lease, no "attempted" mark, no asking), then
//     `job` (default): queue.add the callback job carrying the result; callback: sign and POST
//     order/callback. `inline` (the floor): the dispense job signs and POSTs the callback itself
//     and adds the callback job only when owitho does not take it: one BullMQ job per order, the
//     shape of ours, with nothing of what ours keeps.
//   --coalesce-writes (either mode, anywhere): every Redis connection sends one turn of the event
//     loop's commands in one socket write, as ours do (@owc/redis coalesceWrites)
// Prints {"ready": true, "pid": …} once listening / connected; SIGTERM closes and exits.
import { HttpMachineGateway } from '@owc/gateway';
import { OwithoClient } from '@owc/owitho-client';
import { flattenOrder, type OrderNotice, type OrderResult } from '@owc/protocol';
import { coalesceWrites } from '@owc/redis';
import { Queue, Worker } from 'bullmq';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { naiveNoticeRoute } from './naive-ingress.js';
import { APP } from './system.js';

const COALESCE = '--coalesce-writes';
const coalesce = process.argv.includes(COALESCE);
const [mode, redisUrl, prefix, ...rest] = process.argv.slice(2).filter((arg) => arg !== COALESCE);
if (!redisUrl || !prefix || (mode !== 'ingress' && mode !== 'worker')) {
  process.stderr.write('usage: naive-connector.ts ingress|worker <redisUrl> <prefix> …\n');
  process.exit(2);
}
const queuePrefix = `${prefix}:{naive}`;
const connection = () => {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  if (coalesce) coalesceWrites(redis);
  return redis;
};
const closers: (() => Promise<unknown>)[] = [];

if (mode === 'ingress') {
  const [port, token] = rest;
  const queue = new Queue('dispense', { connection: connection(), prefix: queuePrefix });
  const app = Fastify({ logger: false });
  naiveNoticeRoute(app, queue, {
    kind: 'verify',
    appId: APP.appId,
    tokens: [token as string],
    toleranceMs: 300_000,
  });
  await app.listen({ port: Number(port), host: '127.0.0.1' });
  closers.push(
    () => app.close(),
    () => queue.close(),
  );
} else {
  const [gatewayUrl, owithoUrl, token, dispense, callback, callbackMode = 'job'] = rest;
  if (callbackMode !== 'job' && callbackMode !== 'inline') {
    process.stderr.write(`naive-connector.ts worker: callback mode job|inline, got "${callbackMode}"\n`);
    process.exit(2);
  }
  const gateway = new HttpMachineGateway({
    baseUrl: gatewayUrl as string,
    vendTimeoutMs: 10_000,
    queryTimeoutMs: 5_000,
  });
  const owitho = new OwithoClient({
    baseUrl: owithoUrl as string,
    appId: APP.appId,
    secretKey: APP.secretKey,
    tokens: {
      tokensForCall: async () => [token as string],
      tokensAfterRejection: async () => [token as string],
    },
    connectTimeoutMs: 3000,
    headersTimeoutMs: 10_000,
    bodyTimeoutMs: 10_000,
  });
  const callbacks = new Queue('callback', { connection: connection(), prefix: queuePrefix });
  const dispenseWorker = new Worker(
    'dispense',
    async (job) => {
      const notice = job.data as OrderNotice;
      const outDetailList: OrderResult['outDetailList'] = [];
      for (const unit of flattenOrder(notice)) {
        let status: 200 | 400 = 400;
        try {
          const answer = await gateway.vend(notice.machineCode, {
            vendId: unit.vendId,
            containerCode: notice.containerCode || undefined,
            slotNum: unit.slotNum,
            skuCode: unit.skuCode,
          });
          status = answer.status === 'success' ? 200 : 400;
        } catch {
          status = 400;
        }
        outDetailList.push({ slotNum: unit.slotNum, skuCode: unit.skuCode, status });
      }
      const ok = outDetailList.filter((d) => d.status === 200).length;
      const outStatus = ok === outDetailList.length ? 200 : ok === 0 ? 400 : 300;
      const result: OrderResult = { orderViewId: notice.orderViewId, outStatus, outDetailList };
      if (callbackMode === 'inline') {
        const outcome = await owitho.sendOrderCallback(result).catch(() => undefined);
        if (outcome?.kind === 'ok') return;
      }
      await callbacks.add('callback', result, {
        jobId: `cb-${notice.orderViewId}`,
        removeOnComplete: true,
        attempts: 5,
        backoff: { type: 'exponential', delay: 1000 },
      });
    },
    { connection: connection(), prefix: queuePrefix, concurrency: Number(dispense) },
  );
  const callbackWorker = new Worker(
    'callback',
    async (job) => {
      const outcome = await owitho.sendOrderCallback(job.data as OrderResult);
      if (outcome.kind !== 'ok') throw new Error(`callback: ${outcome.kind}`);
    },
    { connection: connection(), prefix: queuePrefix, concurrency: Number(callback) },
  );
  await Promise.all([dispenseWorker.waitUntilReady(), callbackWorker.waitUntilReady()]);
  closers.push(
    () => dispenseWorker.close(),
    () => callbackWorker.close(),
    () => callbacks.close(),
    () => gateway.close(),
    () => owitho.close(),
  );
}

process.once('SIGTERM', () => {
  void (async () => {
    for (const close of closers) await close().catch(() => undefined);
    process.exit(0);
  })();
});
process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid })}\n`);
