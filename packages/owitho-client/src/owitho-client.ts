import type { Logger } from '@owc/observability';
import {
  type AccessToken,
  accessTokenSchema,
  describeZodError,
  type MachineLayout,
  type OrderResult,
  randomSalt,
  readAnswer,
  type Sku,
  signEnvelope,
  tokenSignature,
} from '@owc/protocol';
import { Pool } from 'undici';
import { type CallOutcome, classifyAnswer } from './call-outcome.js';
import { OwithoCallError } from './errors/owitho-call-error.js';

/**
 * What the client needs of the token keeper (TokenKeeper satisfies it). Neither method fetches a
 * token: a business call never drives getAccessToken; it waits (bounded) for the keeper or fails
 * retryable.
 */
export interface TokenSource {
  /** the tokens to sign with, current first; throws when none is usable in time */
  tokensForCall(): Promise<string[]>;
  /** `failedToken` was refused (40002): asks the keeper for a new one and waits, bounded */
  tokensAfterRejection(failedToken: string): Promise<string[]>;
}

/** getAccessToken answers that a retry cannot fix: owitho refused the credentials themselves. */
const MISCONFIGURATION_CODES: ReadonlySet<number> = new Set([40001, 40002, 40003]);

/**
 * The keeper's `misconfigurationOf`: names a getAccessToken failure caused by our appId or
 * secret (40001 unknown appId, 40002 bad signature = wrong secret, 40003 salt refused), else
 * undefined.
 */
export function tokenMisconfiguration(error: unknown): string | undefined {
  if (!(error instanceof OwithoCallError)) return undefined;
  const code = error.outcome.code;
  if (code === undefined || !MISCONFIGURATION_CODES.has(code)) return undefined;
  return error.outcome.reason;
}

export interface OwithoClientOptions {
  baseUrl: string;
  appId: string;
  secretKey: string;
  tokens?: TokenSource;
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  connections?: number;
  logger?: Logger;
  now?: () => number;
}

interface Exchange {
  status: number;
  code?: number;
  msg: string;
  data?: unknown;
}

/**
 * Calls to owitho: signed, bounded in time, classified. It never retries on its own beyond the
 * protocol's two repairs (a re-stamped utc after 40004, one token refresh after 40002): the
 * queues own retries.
 */
export class OwithoClient {
  private readonly pool: Pool;
  private readonly basePath: string;
  private readonly now: () => number;

  constructor(private readonly options: OwithoClientOptions) {
    const url = new URL(options.baseUrl);
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.pool = new Pool(url.origin, {
      connections: options.connections ?? 16,
      connectTimeout: options.connectTimeoutMs,
      headersTimeout: options.headersTimeoutMs,
      bodyTimeout: options.bodyTimeoutMs,
    });
    this.now = options.now ?? Date.now;
  }

  /** call 0; throws OwithoCallError (with the classified outcome) unless a token came back. */
  async getAccessToken(): Promise<AccessToken> {
    const salt = randomSalt();
    const utc = this.now();
    const signature = tokenSignature({
      appId: this.options.appId,
      salt,
      utc,
      secretKey: this.options.secretKey,
    });
    const query = new URLSearchParams({
      appId: this.options.appId,
      salt: String(salt),
      utc: String(utc),
      signature,
    });
    const exchange = await this.exchange('GET', `/getAccessToken?${query.toString()}`);
    if ('kind' in exchange) throw new OwithoCallError(exchange);
    const outcome = classifyAnswer(exchange.status, exchange.code, exchange.msg);
    if (outcome.kind !== 'ok') throw new OwithoCallError(outcome);
    const token = accessTokenSchema.safeParse(exchange.data);
    if (!token.success) {
      throw new OwithoCallError({
        kind: 'retryable',
        reason: `bad token answer: ${describeZodError(token.error, 'data')}`,
      });
    }
    return token.data;
  }

  syncSkus(skus: Sku[]): Promise<CallOutcome> {
    return this.business('/sku/sync', { skuList: skus });
  }

  syncMachine(layout: MachineLayout): Promise<CallOutcome> {
    return this.business('/machine/sync', layout);
  }

  sendOrderCallback(result: OrderResult): Promise<CallOutcome> {
    return this.business('/order/callback', result);
  }

  /** Closes the connections; with `graceMs`, requests still in flight after that long are cut. */
  async close(graceMs?: number): Promise<void> {
    if (this.pool.closed || this.pool.destroyed) return;
    if (graceMs === undefined) return this.pool.close();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), graceMs);
    });
    const closed = await Promise.race([this.pool.close().then(() => 'closed' as const), late]);
    clearTimeout(timer);
    if (closed === 'late') await this.pool.destroy();
  }

  private async business(path: string, payload: unknown): Promise<CallOutcome> {
    const tokenSource = this.options.tokens;
    if (!tokenSource) return { kind: 'permanent', reason: 'the owitho client has no token source' };
    let tokens: string[];
    try {
      tokens = await tokenSource.tokensForCall();
    } catch (error) {
      return { kind: 'retryable', reason: `no access token: ${(error as Error).message}` };
    }
    let outcome = await this.signedPost(path, payload, tokens);
    if (outcome.kind === 'retryable' && outcome.code === 40004) {
      // our clock stamp was refused: once more with a fresh utc and salt
      outcome = await this.signedPost(path, payload, tokens);
    }
    if (outcome.kind === 'token-rejected') {
      // the keeper replaces it (one fetch for any number of callers); we never fetch here
      const failed = tokens[0] as string;
      try {
        tokens = await tokenSource.tokensAfterRejection(failed);
      } catch (error) {
        return { kind: 'retryable', reason: `token refresh failed: ${(error as Error).message}` };
      }
      outcome = await this.signedPost(path, payload, tokens);
    }
    if (outcome.kind !== 'ok') {
      this.options.logger?.warn(
        { path, outcome: outcome.kind, reason: outcome.reason },
        'owitho call not accepted',
      );
    }
    return outcome;
  }

  private async signedPost(path: string, payload: unknown, tokens: string[]): Promise<CallOutcome> {
    const envelope = signEnvelope(payload, { appId: this.options.appId }, tokens, { now: this.now() });
    const exchange = await this.exchange('POST', path, JSON.stringify(envelope));
    if ('kind' in exchange) return exchange;
    const outcome = classifyAnswer(exchange.status, exchange.code, exchange.msg);
    return outcome.kind === 'ok' ? { kind: 'ok', code: 200, data: exchange.data } : outcome;
  }

  private async exchange(
    method: 'GET' | 'POST',
    path: string,
    body?: string,
  ): Promise<Exchange | Exclude<CallOutcome, { kind: 'ok' }>> {
    try {
      const response = await this.pool.request({
        method,
        path: `${this.basePath}${path}`,
        headers: body ? { 'content-type': 'application/json' } : {},
        ...(body ? { body } : {}),
      });
      const text = await response.body.text();
      const answer = readAnswer(text);
      return { status: response.statusCode, code: answer?.code, msg: answer?.msg ?? '', data: answer?.data };
    } catch (error) {
      // network errors and timeouts; the message of an undici error never holds our secrets
      const code = (error as { code?: string }).code ?? (error as Error).name;
      return { kind: 'retryable', reason: `network: ${code}` };
    }
  }
}

/** The keeper's `fetchToken`: one getAccessToken call through this client. */
export function fetchTokenWith(client: Pick<OwithoClient, 'getAccessToken'>): () => Promise<AccessToken> {
  return () => client.getAccessToken();
}
