import { createLogger, type Logger } from '@owc/observability';
import {
  describeZodError,
  errorAnswer,
  machineLayoutSchema,
  okAnswer,
  openEnvelope,
  orderResultSchema,
  ResultCode,
  signaturesEqual,
  skuSyncSchema,
  tokenSignature,
} from '@owc/protocol';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { z } from 'zod';
import { OwithoSim } from './owitho-sim.js';
import {
  type Faults,
  faultsSchema,
  pushGeneratedSchema,
  pushNoticesSchema,
  streamSchema,
} from './sim.schema.js';

export interface OwithoSimOptions {
  appId: string;
  secretKey: string;
  port?: number;
  host?: string;
  thirdUrl?: string;
  tokenLifetimeMs?: number;
  tokenOverlapMs?: number;
  dailyTokenQuota?: number;
  utcToleranceMs?: number;
  noticeRetryMs?: number;
  duplicateRate?: number;
  queryAfterMs?: number;
  maxPushesPerOrder?: number;
  seed?: { machines: number; slotsPerMachine: number; skus?: number };
  faults?: Faults;
  logger?: Logger;
  /** notices in flight at once (sockets to thirdUrl); default 32 */
  pushConnections?: number;
}

export interface StartedOwithoSim {
  url: string;
  sim: OwithoSim;
  close(): Promise<void>;
}

/** The code for "daily access token quota exceeded" (not in the guide; our simulator's choice). */
export const QUOTA_EXCEEDED_CODE = 40005;

/** A control-API refusal: HTTP 400 naming the first bad field (`(body)` for the body itself). */
function badRequest(reply: FastifyReply, error: z.ZodError) {
  const issue = error.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.map(String).join('.') : '(body)';
  return reply.code(400).send({ error: 'bad_request', field, message: describeZodError(error) });
}

function pathOf(url: string): string {
  return url.split('?')[0] ?? '';
}

export async function startOwithoSim(options: OwithoSimOptions): Promise<StartedOwithoSim> {
  const logger = options.logger ?? createLogger({ level: 'silent', name: 'owitho-sim' });
  const sim = new OwithoSim({
    appId: options.appId,
    secretKey: options.secretKey,
    thirdUrl: options.thirdUrl,
    utcToleranceMs: options.utcToleranceMs ?? 300_000,
    tokenLifetimeMs: options.tokenLifetimeMs ?? 24 * 3600 * 1000,
    tokenOverlapMs: options.tokenOverlapMs ?? 5 * 60_000,
    dailyTokenQuota: options.dailyTokenQuota ?? 2000,
    noticeRetryMs: options.noticeRetryMs ?? 2000,
    duplicateRate: options.duplicateRate ?? 0,
    queryAfterMs: options.queryAfterMs ?? 60_000,
    maxPushesPerOrder: options.maxPushesPerOrder ?? 10_000,
    seed: options.seed ?? { machines: 3, slotsPerMachine: 12 },
    faults: options.faults,
    logger,
    pushConnections: options.pushConnections,
  });
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // request logs would carry getAccessToken's query string (a signature): we log our own events
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 5 * 1024 * 1024,
  });
  const held = sim.held;

  // Request faults apply to the platform endpoints, never to the control API.
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const path = pathOf(request.url);
    if (path.startsWith('/_sim')) return;
    const f = sim.currentFaults();
    if (f.path && f.path !== path) return;
    if (f.latencyMs) await held.sleep(f.latencyMs);
    if (f.hang) {
      await held.hold();
      sim.count(path, 'hang');
      return reply
        .code(503)
        .send(errorAnswer(ResultCode.REQUEST_FAILED, 'service unavailable (released hang)'));
    }
    if (f.status503) {
      sim.count(path, 'http503');
      return reply.code(503).send(errorAnswer(ResultCode.REQUEST_FAILED, 'service unavailable (injected)'));
    }
    if (f.errorRate && Math.random() < f.errorRate) {
      sim.count(path, 'http500');
      return reply.code(500).send(errorAnswer(ResultCode.REQUEST_FAILED, 'internal error (injected)'));
    }
  });

  const answer = (path: string, reply: FastifyReply, code: number, msg: string, data?: unknown) => {
    sim.count(path, code);
    return reply.send(code === 200 ? okAnswer(data) : errorAnswer(code, msg));
  };

  app.get('/getAccessToken', async (request, reply) => {
    const path = '/getAccessToken';
    const raw = (request.query ?? {}) as Record<string, unknown>;
    // a repeated parameter arrives as an array: treat it as missing
    const one = (v: unknown) => (typeof v === 'string' ? v : undefined);
    const q = {
      appId: one(raw.appId),
      salt: one(raw.salt),
      utc: one(raw.utc),
      signature: one(raw.signature),
    };
    const now = sim.now();
    if (!q.appId || !q.salt || !q.utc || !q.signature) {
      return answer(path, reply, 40000, 'request failed: appId, salt, utc and signature are required');
    }
    if (q.appId !== options.appId) return answer(path, reply, 40001, 'appid does not exist');
    const salt = Number(q.salt);
    if (!/^\d+$/.test(q.salt) || salt < 1000 || salt > 9999)
      return answer(path, reply, 40003, 'salt out of range');
    const utc = Number(q.utc);
    if (!/^\d+$/.test(q.utc) || Math.abs(now - utc) > sim.settings.utcToleranceMs) {
      return answer(path, reply, 40004, 'utc expired');
    }
    const expected = tokenSignature({
      appId: q.appId,
      salt: q.salt,
      utc: q.utc,
      secretKey: options.secretKey,
    });
    if (!signaturesEqual(expected, q.signature))
      return answer(path, reply, 40002, 'signature verification failed');
    const issued = sim.tokens.issue(now);
    if (!issued.ok) {
      logger.warn(
        { fetchesToday: issued.fetchesToday, quota: sim.settings.dailyTokenQuota },
        'access token refused: daily quota exceeded',
      );
      return answer(
        path,
        reply,
        QUOTA_EXCEEDED_CODE,
        `daily access token quota exceeded: ${issued.fetchesToday} of ${sim.settings.dailyTokenQuota} used today (UTC)`,
      );
    }
    logger.info(
      { fetchesToday: sim.tokens.fetchesToday(now), expireTime: issued.expireTime },
      'access token issued',
    );
    return answer(path, reply, 200, 'success', {
      accessToken: issued.accessToken,
      expireTime: issued.expireTime,
    });
  });

  const envelopeOptions = () => ({
    appId: options.appId,
    tokens: sim.liveTokens(),
    now: sim.now(),
    toleranceMs: sim.settings.utcToleranceMs,
  });

  app.post('/sku/sync', async (request, reply) => {
    const opened = openEnvelope(request.body, envelopeOptions(), skuSyncSchema);
    if (!opened.ok) return answer('/sku/sync', reply, opened.code, opened.msg);
    sim.recordSkus(opened.payload.skuList);
    return answer('/sku/sync', reply, 200, 'success');
  });

  app.post('/machine/sync', async (request, reply) => {
    const opened = openEnvelope(request.body, envelopeOptions(), machineLayoutSchema);
    if (!opened.ok) return answer('/machine/sync', reply, opened.code, opened.msg);
    sim.recordLayout(opened.payload);
    return answer('/machine/sync', reply, 200, 'success');
  });

  app.post('/order/callback', async (request, reply) => {
    const opened = openEnvelope(request.body, envelopeOptions(), orderResultSchema);
    if (!opened.ok) return answer('/order/callback', reply, opened.code, opened.msg);
    const f = sim.currentFaults();
    if (f.callbackCode50002 && (!f.path || f.path === '/order/callback')) {
      sim.refuseCallback(opened.payload.orderViewId);
      return answer('/order/callback', reply, 50002, 'order callback failed (injected)');
    }
    if (opened.payload.outStatus === 100) {
      return answer(
        '/order/callback',
        reply,
        40000,
        'request failed: data.outStatus: 100 is never a callback',
      );
    }
    sim.recordCallback(opened.payload);
    return answer('/order/callback', reply, 200, 'success');
  });

  // --- control API (JSON; never subject to faults)
  app.get('/_sim/state', async () => sim.state());
  app.get('/_sim/requests', async () => sim.requestCounts());
  app.get('/_sim/orders', async () => sim.orders());
  app.get('/_sim/orders/:id', async (request, reply) => {
    const state = sim.order((request.params as { id: string }).id);
    return state ? state : reply.code(404).send({ error: 'unknown_order' });
  });
  app.get('/_sim/orders/:id/callbacks', async (request, reply) => {
    const state = sim.order((request.params as { id: string }).id);
    return state ? state.callbacks : reply.code(404).send({ error: 'unknown_order' });
  });
  app.get('/_sim/catalogue', async () => sim.catalogue());
  app.get('/_sim/machines', async () => sim.machines());
  app.get('/_sim/machines/:code', async (request, reply) => {
    const layout = sim.machine((request.params as { code: string }).code);
    return layout ? layout : reply.code(404).send({ error: 'unknown_machine' });
  });
  app.get('/_sim/faults', async () => sim.currentFaults());
  app.post('/_sim/faults', async (request, reply) => {
    const parsed = faultsSchema.safeParse(request.body ?? {});
    if (!parsed.success) return badRequest(reply, parsed.error);
    sim.setFaults(parsed.data);
    return sim.currentFaults();
  });
  app.delete('/_sim/faults', async () => {
    sim.clearFaults();
    return {};
  });
  app.post('/_sim/token/revoke', async () => {
    sim.revokeCurrentToken();
    return { revoked: true };
  });
  app.post('/_sim/orders', async (request, reply) => {
    const body: unknown = request.body;
    const isNotices = typeof body === 'object' && body !== null && 'orders' in body;
    if (!options.thirdUrl)
      return reply
        .code(409)
        .send({ error: 'no_third_url', message: 'start the simulator with a thirdUrl to push orders' });
    if (isNotices) {
      const parsed = pushNoticesSchema.safeParse(body);
      if (!parsed.success) return badRequest(reply, parsed.error);
      for (const notice of parsed.data.orders) sim.pushOrder(notice);
      return reply.code(202).send({ orderViewIds: parsed.data.orders.map((o) => o.orderViewId) });
    }
    const parsed = pushGeneratedSchema.safeParse(body);
    if (!parsed.success) return badRequest(reply, parsed.error);
    try {
      const ids = sim.pushGenerated(parsed.data.generate, {
        ...(parsed.data.machineCode ? { machineCode: parsed.data.machineCode } : {}),
        ...(parsed.data.unpaid ? { unpaid: true } : {}),
      });
      return reply.code(202).send({ orderViewIds: ids });
    } catch (error) {
      return reply
        .code(400)
        .send({ error: 'bad_request', field: 'machineCode', message: (error as Error).message });
    }
  });
  app.get('/_sim/stream', async () => ({ stream: sim.currentStream() ?? null }));
  app.post('/_sim/stream', async (request, reply) => {
    const parsed = streamSchema.safeParse(request.body);
    if (!parsed.success) return badRequest(reply, parsed.error);
    if (!options.thirdUrl)
      return reply
        .code(409)
        .send({ error: 'no_third_url', message: 'start the simulator with a thirdUrl to push orders' });
    const { ratePerSec, machineCode, unpaid } = parsed.data;
    if (machineCode && !sim.knowsMachine(machineCode)) {
      return reply.code(400).send({
        error: 'bad_request',
        field: 'machineCode',
        message: `no layout known for machine ${machineCode}`,
      });
    }
    sim.startStream({ ratePerSec, ...(machineCode ? { machineCode } : {}), ...(unpaid ? { unpaid } : {}) });
    return { stream: sim.currentStream() ?? null };
  });
  app.delete('/_sim/stream', async () => {
    sim.stopStream();
    return { stream: null };
  });
  app.post('/_sim/reset', async () => {
    sim.reset();
    return { reset: true };
  });

  app.setNotFoundHandler((request, reply) => {
    const path = pathOf(request.url);
    if (!path.startsWith('/_sim')) sim.count(path, 404);
    return reply.code(404).send(errorAnswer(ResultCode.REQUEST_FAILED, `no route ${request.method} ${path}`));
  });

  app.setErrorHandler((error, request, reply) => {
    // a body that is not JSON, too large, of another content type: a clear answer, never a crash
    const status = (error as { statusCode?: number }).statusCode ?? 500;
    const path = pathOf(request.url);
    const code = status >= 400 && status < 500 ? status : 500;
    if (code === 500) logger.error({ err: error, path }, 'request failed');
    else logger.debug({ path, status: code, reason: (error as Error).message }, 'request refused');
    if (!path.startsWith('/_sim')) sim.count(path, `http${code}`);
    return reply
      .code(code)
      .send(errorAnswer(ResultCode.REQUEST_FAILED, `request failed: ${(error as Error).message}`));
  });

  const url = await app.listen({ port: options.port ?? 0, host: options.host ?? '127.0.0.1' });
  const publicUrl = url.replace('0.0.0.0', '127.0.0.1');
  logger.info({ url: publicUrl, thirdUrl: options.thirdUrl }, 'owitho-sim listening');
  let closing: Promise<void> | undefined;
  return {
    url: publicUrl,
    sim,
    close: () => {
      closing ??= (async () => {
        await sim.close();
        await app.close();
      })();
      return closing;
    },
  };
}
