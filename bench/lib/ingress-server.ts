// The server side of ingress.bench.ts, in its own process:
//   ingress-server.ts <bare|verify-only|ingress> <prefix> [token]   (the token for verify-only)
// Prints {"url": ...} once listening; SIGTERM closes it and exits (so --cpu-prof writes its profile).
import { loadIngressConfig, startIngress } from '@owc/ingress';
import { createRedis } from '@owc/redis';
import { Queue } from 'bullmq';
import Fastify from 'fastify';
import { naiveNoticeRoute } from './naive-ingress.js';
import { APP, REDIS_URL, silent } from './system.js';

const [mode, prefix, token] = process.argv.slice(2);
const MODES = ['bare', 'verify-only', 'ingress'];
if (!MODES.includes(mode ?? '') || !prefix || (mode === 'verify-only' && !token)) {
  process.stderr.write('usage: ingress-server.ts <bare|verify-only|ingress> <prefix> [token]\n');
  process.exit(2);
}

let close: () => Promise<void>;
let url: string;
if (mode === 'bare' || mode === 'verify-only') {
  // the baselines: a bare Fastify route doing one queue.add per request (after the envelope
  // checks for verify-only), on the same kind of Redis connection the ingress uses
  // (createRedis 'producer'); each with its own queue
  const redis = createRedis({ url: REDIS_URL }, 'producer');
  const queue = new Queue('dispense', { connection: redis, prefix: `${prefix}:{${mode}}` });
  const app = Fastify();
  naiveNoticeRoute(
    app,
    queue,
    mode === 'bare'
      ? { kind: 'bare' }
      : { kind: 'verify', appId: APP.appId, tokens: [token as string], toleranceMs: 300_000 },
  );
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
