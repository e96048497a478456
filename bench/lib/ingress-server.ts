// The server side of ingress.bench.ts, in its own process: `ingress-server.ts <bare|ingress> <prefix>`.
// Prints {"url": ...} once listening; SIGTERM closes it and exits (so --cpu-prof writes its profile).
import { loadIngressConfig, startIngress } from '@owc/ingress';
import { createRedis } from '@owc/redis';
import { Queue } from 'bullmq';
import Fastify from 'fastify';
import { APP, REDIS_URL, silent } from './system.js';

const [mode, prefix] = process.argv.slice(2);
if ((mode !== 'bare' && mode !== 'ingress') || !prefix) {
  process.stderr.write('usage: ingress-server.ts <bare|ingress> <prefix>\n');
  process.exit(2);
}

let close: () => Promise<void>;
let url: string;
if (mode === 'bare') {
  // the baseline: a bare Fastify route doing one queue.add per request, on the same kind of
  // Redis connection the ingress uses (createRedis 'producer')
  const redis = createRedis({ url: REDIS_URL }, 'producer');
  const queue = new Queue('dispense', { connection: redis, prefix: `${prefix}:{bare}` });
  const app = Fastify();
  app.post('/order/notice', async (request) => {
    await queue.add('order.dispense', request.body, { removeOnComplete: true });
    return { code: 200, msg: 'success' };
  });
  url = await app.listen({ port: 0, host: '127.0.0.1' });
  close = async () => {
    await app.close();
    await queue.close();
    redis.disconnect();
  };
} else {
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
      ADMIN_HOST: '127.0.0.1',
      ADMIN_PORT: '0',
      LOG_LEVEL: 'warn',
      SHUTDOWN_TIMEOUT_MS: '2000',
    }),
    silent,
  );
  url = ingress.url;
  close = () => ingress.close();
}

process.once('SIGTERM', () => {
  void close().finally(() => process.exit(0));
});
process.stdout.write(`${JSON.stringify({ url, pid: process.pid })}\n`);
