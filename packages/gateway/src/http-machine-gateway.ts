import { describeZodError, type MachineLayout } from '@owc/protocol';
import { Pool } from 'undici';
import type { z } from 'zod';
import { GatewayProtocolError } from './errors/gateway-protocol-error.js';
import { GatewayRejectedError } from './errors/gateway-rejected-error.js';
import { GatewayTimeoutError } from './errors/gateway-timeout-error.js';
import { GatewayUnavailableError } from './errors/gateway-unavailable-error.js';
import { UnknownMachineError } from './errors/unknown-machine-error.js';
import { layoutsOf, machineStateSchema } from './machine.schema.js';
import type { MachineGateway } from './machine-gateway.js';
import {
  GatewayErrorCode,
  gatewayErrorBodySchema,
  type VendAnswer,
  type VendRequest,
  vendAnswerSchema,
  vendRequestSchema,
} from './vend.schema.js';

export interface HttpMachineGatewayOptions {
  /** the gateway's base URL; a path prefix is kept (`http://gw:4100/v1`) */
  baseUrl: string;
  /** deadline of a vend, from sending to the last byte of the answer (headers + body) */
  vendTimeoutMs: number;
  /** deadline of `getVend` / `getMachine` */
  queryTimeoutMs: number;
  /** TCP connect timeout; default 3000 */
  connectTimeoutMs?: number;
  /** sockets in the pool; default 32 */
  connections?: number;
  /** largest answer body read; default 1 MiB */
  maxBodyBytes?: number;
}

interface Exchange {
  statusCode: number;
  /** parsed JSON, or undefined when the body was empty */
  body: unknown;
}

/** Marks our own deadline firing, so it is told apart from other aborts. */
class DeadlineReached extends Error {}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/**
 * The HTTP driver of docs/gateway.md over an undici Pool. Every answer is parsed with the
 * contract's zod schemas; errors are mapped to the GatewayError classes.
 */
export class HttpMachineGateway implements MachineGateway {
  readonly #pool: Pool;
  readonly #prefix: string;
  readonly #vendTimeoutMs: number;
  readonly #queryTimeoutMs: number;
  readonly #maxBodyBytes: number;

  constructor(options: HttpMachineGatewayOptions) {
    const url = new URL(options.baseUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError(`baseUrl must be http(s): ${url.protocol}`);
    }
    for (const [name, value] of [
      ['vendTimeoutMs', options.vendTimeoutMs],
      ['queryTimeoutMs', options.queryTimeoutMs],
    ] as const) {
      if (!Number.isSafeInteger(value) || value < 1)
        throw new RangeError(`${name} must be a positive integer`);
    }
    this.#prefix = url.pathname.replace(/\/+$/, '');
    this.#vendTimeoutMs = options.vendTimeoutMs;
    this.#queryTimeoutMs = options.queryTimeoutMs;
    this.#maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
    this.#pool = new Pool(url.origin, {
      connections: options.connections ?? 32,
      connect: { timeout: options.connectTimeoutMs ?? 3000 },
      // our own deadline (below) is the real limit; these are backstops
      headersTimeout: Math.max(options.vendTimeoutMs, options.queryTimeoutMs) + 1000,
      bodyTimeout: Math.max(options.vendTimeoutMs, options.queryTimeoutMs) + 1000,
    });
  }

  async vend(machineCode: string, request: VendRequest): Promise<VendAnswer> {
    const parsed = vendRequestSchema.safeParse(request);
    if (!parsed.success) {
      // a bug of the caller, not of the gateway: nothing was sent
      throw new TypeError(`invalid vend request: ${describeZodError(parsed.error)}`);
    }
    const what = `vend ${request.vendId} on ${machineCode}`;
    const answer = await this.#exchange(
      'POST',
      `/machines/${encodeURIComponent(machineCode)}/vends`,
      JSON.stringify(parsed.data),
      this.#vendTimeoutMs,
      what,
    );
    if (answer.statusCode === 200) {
      return this.#vendAnswer(answer.body, request.vendId, what);
    }
    if (answer.statusCode === 404 && this.#errorCode(answer.body) === GatewayErrorCode.UNKNOWN_MACHINE) {
      throw new UnknownMachineError(machineCode);
    }
    throw this.#unexpected(answer, what);
  }

  async getVend(vendId: string): Promise<VendAnswer | undefined> {
    const what = `vend ${vendId} query`;
    const answer = await this.#exchange(
      'GET',
      `/vends/${encodeURIComponent(vendId)}`,
      undefined,
      this.#queryTimeoutMs,
      what,
    );
    if (answer.statusCode === 200) return this.#vendAnswer(answer.body, vendId, what);
    // Only the gateway's own "never received" counts as unknown: a stray 404 (a wrong base
    // path, a proxy) must not make the caller vend again.
    if (answer.statusCode === 404 && this.#errorCode(answer.body) === GatewayErrorCode.UNKNOWN_VEND) {
      return undefined;
    }
    throw this.#unexpected(answer, what);
  }

  /**
   * The machine's live layout. With `containerCode`, that container (`?containerCode=`); without,
   * the machine's only container — or, for a machine with several, the first by code (use
   * `getContainers` to see them all). `undefined` = 404 unknown_machine, or no such container.
   */
  async getMachine(machineCode: string, containerCode?: string): Promise<MachineLayout | undefined> {
    const layouts = await this.#readMachine(machineCode, containerCode);
    if (!layouts) return undefined;
    if (containerCode === undefined) return layouts[0];
    // a gateway that knows only one container may ignore the query: the answer must still match
    return layouts.find((l) => l.containerCode === containerCode || l.containerCode === undefined);
  }

  /** Every container of the machine as its own layout, sorted by containerCode; `undefined` = unknown machine. */
  async getContainers(machineCode: string): Promise<MachineLayout[] | undefined> {
    return this.#readMachine(machineCode, undefined);
  }

  async #readMachine(
    machineCode: string,
    containerCode: string | undefined,
  ): Promise<MachineLayout[] | undefined> {
    const what = `machine ${machineCode} query`;
    const query = containerCode === undefined ? '' : `?containerCode=${encodeURIComponent(containerCode)}`;
    const answer = await this.#exchange(
      'GET',
      `/machines/${encodeURIComponent(machineCode)}${query}`,
      undefined,
      this.#queryTimeoutMs,
      what,
    );
    if (answer.statusCode === 200) {
      const state = this.#parse(machineStateSchema, answer.body, what);
      if (state.machineCode !== machineCode) {
        throw new GatewayProtocolError(
          `${what}: answer is for machine ${JSON.stringify(state.machineCode)}`,
          'machineCode',
          200,
        );
      }
      return layoutsOf(state);
    }
    if (answer.statusCode === 404 && this.#errorCode(answer.body) === GatewayErrorCode.UNKNOWN_MACHINE) {
      return undefined;
    }
    throw this.#unexpected(answer, what);
  }

  /**
   * Closes the connections once the requests in flight are answered; with `graceMs`, waits at
   * most that long and then cuts what is left (a hung gateway must not hold up a shutdown).
   */
  async close(graceMs?: number): Promise<void> {
    if (this.#pool.closed || this.#pool.destroyed) return;
    if (graceMs === undefined) return this.#pool.close();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), graceMs);
    });
    const closed = await Promise.race([this.#pool.close().then(() => 'closed' as const), late]);
    clearTimeout(timer);
    if (closed === 'late') await this.#pool.destroy();
  }

  #vendAnswer(body: unknown, vendId: string, what: string): VendAnswer {
    const answer = this.#parse(vendAnswerSchema, body, what);
    if (answer.vendId !== vendId) {
      throw new GatewayProtocolError(
        `${what}: answer is for vendId ${JSON.stringify(answer.vendId)}`,
        'vendId',
        200,
      );
    }
    return answer;
  }

  #parse<S extends z.ZodType>(schema: S, body: unknown, what: string): z.infer<S> {
    const result = schema.safeParse(body);
    if (result.success) return result.data;
    const field = result.error.issues[0]?.path.map(String).join('.') || '(body)';
    throw new GatewayProtocolError(`${what}: invalid answer: ${describeZodError(result.error)}`, field, 200);
  }

  #errorCode(body: unknown): string | undefined {
    const parsed = gatewayErrorBodySchema.safeParse(body);
    return parsed.success ? parsed.data.error : undefined;
  }

  /** Maps every answer that is not the expected one. */
  #unexpected(answer: Exchange, what: string): Error {
    const { statusCode } = answer;
    const parsed = gatewayErrorBodySchema.safeParse(answer.body);
    const code = parsed.success ? parsed.data.error : undefined;
    const field = parsed.success ? parsed.data.field : undefined;
    if (statusCode >= 500 || statusCode === 429 || statusCode === 408) {
      return new GatewayUnavailableError(`${what}: gateway answered ${statusCode}`, statusCode);
    }
    if (statusCode >= 400) {
      const detail = [code, field && `field ${field}`].filter(Boolean).join(', ');
      return new GatewayRejectedError(
        `${what}: gateway refused with ${statusCode}${detail ? ` (${detail})` : ''}`,
        statusCode,
        code,
        field,
      );
    }
    return new GatewayProtocolError(`${what}: unexpected HTTP status ${statusCode}`, '(status)', statusCode);
  }

  async #exchange(
    method: 'GET' | 'POST',
    path: string,
    body: string | undefined,
    timeoutMs: number,
    what: string,
  ): Promise<Exchange> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DeadlineReached()), timeoutMs);
    try {
      const response = await this.#pool.request({
        method,
        path: this.#prefix + path,
        headers:
          body === undefined
            ? { accept: 'application/json' }
            : {
                accept: 'application/json',
                'content-type': 'application/json',
              },
        body,
        signal: controller.signal,
      });
      const text = await this.#readText(response.body, what, response.statusCode);
      let parsed: unknown;
      if (text.length > 0) {
        try {
          parsed = JSON.parse(text);
        } catch (error) {
          // a non-JSON error page is still mapped by its status; a non-JSON 200 is a protocol error
          if (response.statusCode === 200) {
            throw new GatewayProtocolError(`${what}: answer is not JSON`, '(body)', 200, { cause: error });
          }
        }
      }
      return { statusCode: response.statusCode, body: parsed };
    } catch (error) {
      throw this.#transportError(error, what, timeoutMs);
    } finally {
      clearTimeout(timer);
    }
  }

  async #readText(
    stream: AsyncIterable<Buffer | string> & { destroy(): void },
    what: string,
    statusCode: number,
  ): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of stream) {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += buffer.length;
      if (size > this.#maxBodyBytes) {
        stream.destroy();
        throw new GatewayProtocolError(
          `${what}: answer larger than ${this.#maxBodyBytes} bytes`,
          '(body)',
          statusCode,
        );
      }
      chunks.push(buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  #transportError(error: unknown, what: string, timeoutMs: number): Error {
    if (error instanceof GatewayProtocolError) return error;
    if (error instanceof DeadlineReached) {
      return new GatewayTimeoutError(`${what}: no answer within ${timeoutMs} ms`, timeoutMs);
    }
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && TIMEOUT_CODES.has(code)) {
      return new GatewayTimeoutError(`${what}: no answer within ${timeoutMs} ms`, timeoutMs, {
        cause: error,
      });
    }
    const reason = error instanceof Error ? error.message : String(error);
    return new GatewayUnavailableError(`${what}: gateway unreachable: ${reason}`, undefined, {
      cause: error,
    });
  }
}
