// Ingress accept: POST /order/notice with real signed envelopes and distinct order ids, against a
// bare Fastify route doing one queue.add per request. Both servers run in this process, one after
// the other, under the same in-process autocannon load (same connections, same duration).
import { loadIngressConfig, startIngress } from '@owc/ingress';
import { signEnvelope } from '@owc/protocol';
import { generateFleet } from '@owc/sim-fleet';
import autocannon from 'autocannon';
import { Queue } from 'bullmq';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { report, round, rssMb } from './lib/report.js';
import { APP, benchPrefix, quiet, REDIS_URL, seedToken } from './lib/system.js';

const DURATION_S = Number(process.env.BENCH_INGRESS_SECONDS ?? 8);
const CONNECTIONS = 32;
const machine = generateFleet({ machines: 1, slotsPerMachine: 4 }).machines[0];
if (!machine) throw new Error('no machine');
const slot = machine.slotList[0];
if (!slot) throw new Error('no slot');

let counter = 0;
function body(token: string): string {
  counter++;
  const notice = {
    orderViewId: `B${process.pid}-${counter}`,
    machineCode: machine?.machineCode,
    containerCode: '01',
    discountMoney: '0.00',
    originAmount: slot?.originalPrice,
    actualAmount: slot?.originalPrice,
    payStatus: 1,
    refundStatus: 0,
    orderTime: Date.now() - 1000,
    payCompleteTime: Date.now(),
    payMethod: 2,
    orderDetailList: [
      {
        skuCode: slot?.skuCode,
        slotNum: slot?.slotNum,
        quantity: 1,
        originalPrice: slot?.originalPrice,
        actualPrice: slot?.actualPrice,
      },
    ],
  };
  return JSON.stringify(signEnvelope(notice, { appId: APP.appId }, [token]));
}

async function load(url: string, token: string) {
  const run = (duration: number) =>
    autocannon({
      url,
      connections: CONNECTIONS,
      duration,
      requests: [
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          setupRequest: (request) => ({ ...request, body: body(token) }),
        },
      ],
    });
  await run(2); // warm-up
  const result = await run(DURATION_S);
  return {
    reqPerSec: round(result.requests.average, 0),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

const { prefix, cleanup } = benchPrefix('ingress');
const token = await seedToken(prefix);

// the bare route: one queue.add per request, nothing else
const bareRedis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
const bareQueue = new Queue('bare', { connection: bareRedis, prefix: `${prefix}:{bare}` });
const bare = Fastify();
bare.post('/order/notice', async (request) => {
  await bareQueue.add('notice', request.body, { removeOnComplete: true });
  return { code: 200, msg: 'success' };
});
const bareUrl = await bare.listen({ port: 0, host: '127.0.0.1' });
const baseline = await load(`${bareUrl}/order/notice`, token);
await bare.close();
await bareQueue.close();
bareRedis.disconnect();

const ingress = await startIngress(
  loadIngressConfig({
    REDIS_URL,
    KEY_PREFIX: prefix,
    OWITHO_APP_ID: APP.appId,
    MACHINE_GATEWAY_URL: 'http://127.0.0.1:9',
    ADMIN_USER: 'admin',
    ADMIN_PASSWORD: 'admin',
    INGRESS_HOST: '127.0.0.1',
    INGRESS_PORT: '0',
    LOG_LEVEL: 'warn',
  }),
  quiet,
);
const accept = await load(`${ingress.url}/order/notice`, token);
await ingress.close();
await cleanup();

report('ingress', {
  connections: CONNECTIONS,
  seconds: DURATION_S,
  ingress: accept,
  bare: baseline,
  ratio: round(accept.reqPerSec / baseline.reqPerSec, 3),
  target: 0.8,
  rssMb: rssMb(),
});
process.exit(0);
