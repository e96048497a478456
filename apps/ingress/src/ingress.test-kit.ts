import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { MultiContainerMachine } from '@owc/gateway';
import { createLogger, type Logger, Registry } from '@owc/observability';
import { type MachineLayout, signEnvelope } from '@owc/protocol';
import { silentLogger } from '@owc/testing';
import { TokenKeeper, tokenMetrics } from '@owc/token';
import { Redis } from 'ioredis';
import { type IngressConfig, loadIngressConfig } from './config.js';
import type { HonouredTokens, MachineReader } from './ingress-deps.js';
import { type RunningIngress, startIngress } from './server.js';

export const APP_ID = 'app-test-0001';
export const TOKEN = 'token-current-abcdef0123456789';
export const ADMIN = { user: 'admin', password: 'pa55-word' };

export function testConfig(
  redisUrl: string,
  prefix: string,
  env: Record<string, string> = {},
): IngressConfig {
  return loadIngressConfig({
    REDIS_URL: redisUrl,
    KEY_PREFIX: prefix,
    OWITHO_APP_ID: APP_ID,
    INGRESS_HOST: '127.0.0.1',
    INGRESS_PORT: '0',
    ADMIN_HOST: '127.0.0.1',
    ADMIN_PORT: '0',
    MACHINE_GATEWAY_URL: 'http://127.0.0.1:9',
    ADMIN_USER: ADMIN.user,
    ADMIN_PASSWORD: ADMIN.password,
    LOG_LEVEL: 'silent',
    ...env,
  });
}

/** A logger whose lines the test can read. */
export function capturedLogger(level = 'info'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: createLogger({ level, name: 'ingress-test', destination }), lines };
}

/**
 * Makes `token` the deployment's current access token the way production does: a TokenKeeper
 * (the worker's) fetches it and writes it to Redis. Returns that keeper, so a test can rotate.
 */
export async function seedToken(
  redisUrl: string,
  prefix: string,
  token = TOKEN,
): Promise<{ rotate(next: string): Promise<void>; close(): void }> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  let issue = token;
  const keeper = new TokenKeeper({
    redis,
    keyPrefix: prefix,
    fetchToken: async () => ({ accessToken: issue, expireTime: Date.now() + 3_600_000 }),
    overlapMs: 60_000,
    refreshMarginMs: 1000,
    dailyQuota: 100,
    quotaWarnShare: 0.8,
    cacheMs: 0,
    metrics: tokenMetrics(new Registry()),
  });
  await keeper.currentToken();
  return {
    rotate: async (next: string) => {
      const before = issue;
      issue = next;
      await keeper.refreshBecauseRejected(before);
    },
    close: () => redis.disconnect(),
  };
}

export interface TestIngressOptions {
  env?: Record<string, string>;
  /** replaces the ingress's own (read-only) TokenKeeper */
  tokens?: HonouredTokens;
  /** seed TOKEN in Redis first (default: true unless `tokens` is given) */
  seed?: boolean;
  gateway?: MachineReader;
  logger?: Logger;
}

export async function startTestIngress(
  redisUrl: string,
  prefix: string,
  options: TestIngressOptions = {},
): Promise<RunningIngress> {
  const config = testConfig(redisUrl, prefix, options.env);
  if (options.seed ?? !options.tokens) (await seedToken(redisUrl, prefix)).close();
  const logger = options.logger ?? silentLogger('ingress-test');
  return startIngress(config, logger, { tokens: options.tokens, gateway: options.gateway });
}

export function signed(payload: unknown, tokens: readonly string[] = [TOKEN], now = Date.now()) {
  return signEnvelope(payload, { appId: APP_ID }, tokens, { now });
}

export interface HttpAnswer {
  status: number;
  body: unknown;
  headers: Headers;
}

/** POSTs JSON (or raw text with the given content type) and reads the answer; bounded in time. */
export async function post(
  url: string,
  body: unknown,
  options: { contentType?: string; raw?: boolean; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<HttpAnswer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': options.contentType ?? 'application/json', ...options.headers },
    body: options.raw ? String(body) : JSON.stringify(body),
    signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body: parsed, headers: response.headers };
}

export function basicAuth(user = ADMIN.user, password = ADMIN.password): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}

/** Reads one sample of a metric from the Prometheus text (0 when absent). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const matches = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (matches) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

/**
 * A minimal HTTP machine gateway (docs/gateway.md `GET /machines/{code}`) with a switch to hang its
 * answers, for machine/query tests; the ingress reaches it through the real HttpMachineGateway.
 */
export async function startTestGateway(machines: Array<MachineLayout | MultiContainerMachine>): Promise<{
  url: string;
  machines: Map<string, MachineLayout | MultiContainerMachine>;
  hang: { on: boolean };
  close(): Promise<void>;
}> {
  const byCode = new Map<string, MachineLayout | MultiContainerMachine>(
    machines.map((m) => [m.machineCode, m]),
  );
  const hang = { on: false };
  const held: ServerResponse[] = [];
  const server = createServer((req, res) => {
    // the multi-container shape is answered whole (a gateway may ignore ?containerCode=)
    const match = /^\/machines\/([^/?]+)(\?.*)?$/.exec(req.url ?? '');
    if (hang.on) {
      held.push(res);
      return;
    }
    const layout = match?.[1] ? byCode.get(decodeURIComponent(match[1])) : undefined;
    res.writeHead(layout ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify(layout ?? { error: 'unknown_machine' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    machines: byCode,
    hang,
    close: async () => {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function layout(machineCode: string, inventory = 5, machineStatus: 10 | 20 | 30 = 10): MachineLayout {
  return {
    machineCode,
    containerCode: '01',
    machineStatus,
    slotList: [
      {
        slotNum: '01',
        row: 1,
        col: 1,
        skuCode: 'COLA',
        skuName: 'Cola',
        originalPrice: '2.50',
        actualPrice: '2.00',
        maxInventory: 10,
        currentInventory: inventory,
        slotStatus: 0,
      },
    ],
  };
}
