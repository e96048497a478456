import { tokenSignature } from '@owc/protocol';
import Fastify, { type FastifyInstance } from 'fastify';
import { type OwithoSimOptions, type StartedOwithoSim, startOwithoSim } from './start-owitho-sim.js';

/** Helpers for the simulator's own tests (real HTTP on port 0). */
export const APP = { appId: 'app-1', secretKey: 'sk-1' };

export const SKU = {
  skuCode: 'S1',
  skuName: '可乐',
  skuUnit: '罐',
  skuSpec: '330ml',
  originalPrice: '2.50',
  skuPic: 'https://x.example/s1.png',
};

export interface Closable {
  close(): Promise<void>;
}

/** Everything a test started, closed in reverse order by `closeAll` (call it in afterEach). */
export class Started {
  private readonly items: Closable[] = [];
  add<T extends Closable>(item: T): T {
    this.items.push(item);
    return item;
  }
  async closeAll(): Promise<void> {
    while (this.items.length) await this.items.pop()?.close();
  }
  sim(options: Partial<OwithoSimOptions> = {}): Promise<StartedOwithoSim> {
    return startOwithoSim({ ...APP, ...options }).then((s) => this.add(s));
  }
}

export interface TokenAnswer {
  code: number;
  msg: string;
  data?: { accessToken: string; expireTime: number };
}

export async function fetchToken(
  url: string,
  overrides: Record<string, string> = {},
  now = Date.now(),
): Promise<TokenAnswer> {
  const salt = '1234';
  const utc = String(now);
  const signature = tokenSignature({ appId: APP.appId, salt, utc, secretKey: APP.secretKey });
  const q = new URLSearchParams({ appId: APP.appId, salt, utc, signature, ...overrides });
  const res = await fetch(`${url}/getAccessToken?${q}`);
  return (await res.json()) as TokenAnswer;
}

export async function tokenOf(url: string): Promise<string> {
  const answer = await fetchToken(url);
  if (!answer.data) throw new Error(`no token: ${answer.code} ${answer.msg}`);
  return answer.data.accessToken;
}

/** A JSON answer body, read field by field in assertions. */
export type Json = Record<string, unknown>;

export async function post(url: string, path: string, body: unknown, method = 'POST') {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Json };
}

export async function get(url: string, path: string) {
  const res = await fetch(`${url}${path}`);
  return { status: res.status, body: (await res.json()) as Json };
}

export interface Receiver {
  url: string;
  notices: unknown[];
  queries: unknown[];
}

/**
 * A tiny third party: answers order/notice from `answers` in turn (the last one repeats),
 * and order/query with a "still dispensing" result.
 */
export async function receiver(
  started: Started,
  answers: Array<{ status: number; code: number }> = [{ status: 200, code: 200 }],
): Promise<Receiver> {
  const app: FastifyInstance = Fastify();
  const notices: unknown[] = [];
  const queries: unknown[] = [];
  let i = 0;
  app.post('/order/notice', async (req, reply) => {
    notices.push(req.body);
    const a = answers[Math.min(i++, answers.length - 1)] ?? { status: 200, code: 200 };
    return reply.code(a.status).send({ code: a.code, msg: 'x' });
  });
  app.post('/order/query', async (req) => {
    queries.push(req.body);
    return {
      code: 200,
      msg: 'success',
      data: { orderViewId: 'ignored', outStatus: 100, outDetailList: [] },
    };
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  started.add({ close: () => app.close() });
  return { url, notices, queries };
}
