import { type Logger, silentLogger } from '@owc/observability';
import { buildOwithoSimApp } from './owitho-sim.app.js';
import { OwithoSim } from './owitho-sim.js';
import type { Faults } from './sim.schema.js';

export { QUOTA_EXCEEDED_CODE } from './routes/token.route.js';
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
  /** 0..1: share of generated orders in a tolerant form (amounts "108" or 10.5, payMethod 9, …: order-generator.ts); default 0 */
  tolerantShare?: number;
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

export async function startOwithoSim(options: OwithoSimOptions): Promise<StartedOwithoSim> {
  const logger = options.logger ?? silentLogger('owitho-sim');
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
    tolerantShare: options.tolerantShare ?? 0,
    seed: options.seed ?? { machines: 3, slotsPerMachine: 12 },
    faults: options.faults,
    logger,
    pushConnections: options.pushConnections,
  });
  const app = await buildOwithoSimApp(
    sim,
    { appId: options.appId, secretKey: options.secretKey, thirdUrl: options.thirdUrl },
    logger,
  );

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
