import type { Logger } from '@owc/observability';
import { signaturesEqual, tokenSignature } from '@owc/protocol';
import type { FastifyInstance } from 'fastify';
import type { OwithoSim } from '../owitho-sim.js';
import { platformAnswer } from './platform-answer.js';

/** The code for "daily access token quota exceeded" (not in the guide; our simulator's choice). */
export const QUOTA_EXCEEDED_CODE = 40005;

export interface TokenRouteOptions {
  sim: OwithoSim;
  appId: string;
  secretKey: string;
  logger: Logger;
}

/** call 0: `GET /getAccessToken`, checked in the guide's order; the daily quota is the simulator's. */
export async function tokenRoute(app: FastifyInstance, routeOptions: TokenRouteOptions): Promise<void> {
  const { sim, logger } = routeOptions;
  const options = routeOptions;
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
      return platformAnswer(
        sim,
        path,
        reply,
        40000,
        'request failed: appId, salt, utc and signature are required',
      );
    }
    if (q.appId !== options.appId) return platformAnswer(sim, path, reply, 40001, 'appid does not exist');
    const salt = Number(q.salt);
    if (!/^\d+$/.test(q.salt) || salt < 1000 || salt > 9999)
      return platformAnswer(sim, path, reply, 40003, 'salt out of range');
    const utc = Number(q.utc);
    if (!/^\d+$/.test(q.utc) || Math.abs(now - utc) > sim.settings.utcToleranceMs) {
      return platformAnswer(sim, path, reply, 40004, 'utc expired');
    }
    const expected = tokenSignature({
      appId: q.appId,
      salt: q.salt,
      utc: q.utc,
      secretKey: options.secretKey,
    });
    if (!signaturesEqual(expected, q.signature))
      return platformAnswer(sim, path, reply, 40002, 'signature verification failed');
    const issued = sim.tokens.issue(now);
    if (!issued.ok) {
      logger.warn(
        { fetchesToday: issued.fetchesToday, quota: sim.settings.dailyTokenQuota },
        'access token refused: daily quota exceeded',
      );
      return platformAnswer(
        sim,
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
    return platformAnswer(sim, path, reply, 200, 'success', {
      accessToken: issued.accessToken,
      expireTime: issued.expireTime,
    });
  });
}
