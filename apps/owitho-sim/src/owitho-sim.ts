import { type Logger, silentLogger } from '@owc/observability';
import {
  type MachineLayout,
  type OrderNotice,
  type OrderResult,
  orderResultSchema,
  readAnswer,
  type Sku,
  signData,
  signEnvelope,
} from '@owc/protocol';
import { generateFleet } from '@owc/sim-fleet';
import { Pool } from 'undici';
import { NoTokenError } from './errors/no-token-error.js';
import { HeldRequests } from './held-requests.js';
import {
  type GeneratedOrder,
  type GenerateOptions,
  OrderGenerator,
  type RawNotice,
} from './order-generator.js';
import type { Faults } from './sim.schema.js';
import { TokenAuthority } from './token-authority.js';

export interface DriverOptions {
  thirdUrl?: string;
  noticeRetryMs: number;
  duplicateRate: number;
  queryAfterMs: number;
  maxPushesPerOrder: number;
  /** share (0..1) of generated orders sent in one of the tolerant forms (order-generator.ts) */
  tolerantShare?: number;
}

export interface OrderState {
  orderViewId: string;
  /** the notice pushed, when it is in our canonical form (given to pushOrder, or generated so) */
  notice?: OrderNotice;
  /** the notice pushed, when it was generated in a tolerant form: the exact JSON sent */
  raw?: RawNotice;
  /** what a generated order was (form, paid or not, units, container, exact cents) */
  generated?: GeneratedOrder;
  /** the third party's answers to this notice's pushes, counted by `"<HTTP status> <code>"` */
  answers: Record<string, number>;
  /** the message of the last answer that was not code 200 */
  lastRefusal?: string;
  pushes: number;
  duplicatesPushed: number;
  lastPushAt?: number;
  lastPushResult?: string;
  ackedAt?: number;
  callbacks: { at: number; payload: OrderResult }[];
  callbackRefusals: number;
  outStatus?: number;
  unitStatuses?: number[];
  queried?: { at: number; code?: number; answer?: OrderResult; error?: string };
}

export interface StreamOptions extends GenerateOptions {
  /** generated orders per second (> 0) */
  ratePerSec: number;
}

export interface OwithoSimSettings extends DriverOptions {
  appId: string;
  secretKey: string;
  utcToleranceMs: number;
  tokenLifetimeMs: number;
  tokenOverlapMs: number;
  dailyTokenQuota: number;
  seed: { machines: number; slotsPerMachine: number; skus?: number };
  faults?: Faults;
  logger?: Logger;
  /** notices (and other pushes) in flight at once: sockets to the connector; default 32 */
  pushConnections?: number;
}

/** The simulator's state and its order driver; the HTTP layer (start-owitho-sim.ts) calls into it. */
export class OwithoSim {
  /** a stream generates nothing while this many notices wait for their ack */
  static readonly STREAM_MAX_UNACKED = 10_000;
  readonly tokens: TokenAuthority;
  /** requests held by the latency and hang faults; released when the faults change */
  readonly held = new HeldRequests();
  private faults: Faults = {};
  private readonly catalogueBySku = new Map<string, Sku>();
  private readonly layouts = new Map<string, MachineLayout>();
  private readonly orderStates = new Map<string, OrderState>();
  private readonly counts = new Map<string, Map<string, number>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly generator: OrderGenerator;
  private readonly seedMachines: MachineLayout[];
  private pool?: Pool;
  private stream?: NodeJS.Timeout;
  private closed = false;
  private warnedNoToken = false;
  /** notices pushed but not yet acked (nor given up) */
  private unacked = 0;
  private streamPaused = false;
  private streaming?: StreamOptions;
  readonly log: Logger;
  syncRequests = { sku: 0, machine: 0 };

  constructor(readonly settings: OwithoSimSettings) {
    this.tokens = new TokenAuthority({
      lifetimeMs: settings.tokenLifetimeMs,
      overlapMs: settings.tokenOverlapMs,
      dailyQuota: settings.dailyTokenQuota,
    });
    this.log = settings.logger ?? silentLogger('owitho-sim');
    this.faults = settings.faults ?? {};
    this.seedMachines = generateFleet(settings.seed).machines;
    this.generator = new OrderGenerator(settings.tolerantShare ?? 0);
    if (settings.thirdUrl)
      this.pool = new Pool(new URL(settings.thirdUrl).origin, {
        connections: settings.pushConnections ?? 32,
      });
  }

  /** The simulator's clock (shifted by the clock-skew fault). */
  now(): number {
    return Date.now() + (this.faults.clockSkewMs ?? 0);
  }

  // --- faults and counters
  /** Replaces the faults in place (an empty object clears them). */
  setFaults(faults: Faults): void {
    this.faults = { ...faults };
    this.held.releaseAll();
    this.log.info({ faults: this.faults }, 'faults set');
  }
  clearFaults(): void {
    this.faults = {};
    this.held.releaseAll();
    this.log.info('faults cleared');
  }
  currentFaults(): Faults {
    return { ...this.faults };
  }
  count(path: string, code: number | string): void {
    let byCode = this.counts.get(path);
    if (!byCode) {
      byCode = new Map();
      this.counts.set(path, byCode);
    }
    const key = String(code);
    byCode.set(key, (byCode.get(key) ?? 0) + 1);
  }
  requestCounts(): Record<string, Record<string, number>> {
    return Object.fromEntries([...this.counts].map(([path, byCode]) => [path, Object.fromEntries(byCode)]));
  }

  // --- tokens
  tokenFetchCount(): number {
    return this.tokens.totalFetches();
  }
  liveTokens(): string[] {
    return this.tokens.live(this.now());
  }
  revokeCurrentToken(): void {
    this.tokens.revoke();
    this.log.info('live access tokens revoked: the next signed call fails 40002 until a new fetch');
  }

  // --- what we received
  recordSkus(skus: Sku[]): void {
    this.syncRequests.sku++;
    for (const sku of skus) this.catalogueBySku.set(sku.skuCode, sku);
  }
  /** One layout per (machineCode, containerCode): two containers of a machine never overwrite each other. */
  recordLayout(layout: MachineLayout): void {
    this.syncRequests.machine++;
    this.layouts.set(JSON.stringify([layout.machineCode, layout.containerCode ?? '']), layout);
  }
  catalogue(): Sku[] {
    return [...this.catalogueBySku.values()];
  }
  /** The last layout received (machine/sync) for a machine's container: the named one, else the first by code. */
  machine(code: string, containerCode?: string): MachineLayout | undefined {
    const containers = this.containers(code);
    return containerCode === undefined
      ? containers[0]
      : containers.find((c) => (c.containerCode ?? '') === containerCode);
  }
  /** Every container of a machine that a machine/sync has reached, by containerCode. */
  containers(code: string): MachineLayout[] {
    return this.machines().filter((m) => m.machineCode === code);
  }
  /** Every layout received (machine/sync): one per container, by machine then container. */
  machines(): MachineLayout[] {
    return [...this.layouts.values()].sort(
      (a, b) =>
        a.machineCode.localeCompare(b.machineCode) ||
        (a.containerCode ?? '').localeCompare(b.containerCode ?? ''),
    );
  }
  /** What generated orders are built from: the received layouts (one per container), else the seed fleet. */
  orderSource(): MachineLayout[] {
    return this.layouts.size > 0 ? this.machines() : this.seedMachines;
  }
  knowsMachine(code: string): boolean {
    return this.orderSource().some((m) => m.machineCode === code && m.slotList.length > 0);
  }
  recordCallback(result: OrderResult): void {
    let state = this.orderStates.get(result.orderViewId);
    if (!state) {
      this.log.warn({ orderViewId: result.orderViewId }, 'callback for an order this simulator never pushed');
      state = this.newState(result.orderViewId);
    }
    state.callbacks.push({ at: this.now(), payload: result });
    state.outStatus = result.outStatus;
    state.unitStatuses = result.outDetailList.map((d) => d.status);
  }
  refuseCallback(orderViewId: string): void {
    const state = this.orderStates.get(orderViewId);
    if (state) state.callbackRefusals++;
  }
  order(orderViewId: string): OrderState | undefined {
    return this.orderStates.get(orderViewId);
  }
  orders(): OrderState[] {
    return [...this.orderStates.values()];
  }
  callbacks(orderViewId: string): OrderResult[] {
    return this.orderStates.get(orderViewId)?.callbacks.map((c) => c.payload) ?? [];
  }

  // --- the order driver
  private newState(orderViewId: string, notice?: OrderNotice): OrderState {
    const state: OrderState = {
      orderViewId,
      notice,
      answers: {},
      pushes: 0,
      duplicatesPushed: 0,
      callbacks: [],
      callbackRefusals: 0,
    };
    this.orderStates.set(orderViewId, state);
    return state;
  }

  private later(ms: number, fn: () => Promise<void> | void): void {
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.closed) return;
      Promise.resolve(fn()).catch((error: unknown) =>
        this.log.error({ err: error }, 'order driver step failed'),
      );
    }, ms);
    this.timers.add(timer);
  }

  /** Pushes a notice until it is acked (code 200), like the platform does. */
  pushOrder(notice: OrderNotice): void {
    if (!this.pool) throw new Error('no thirdUrl is set: the simulator has nowhere to push orders');
    if (this.orderStates.has(notice.orderViewId)) return;
    this.newState(notice.orderViewId, notice);
    this.unacked++;
    this.later(0, () => this.push(notice.orderViewId));
  }

  /** Generates n orders (a `tolerantShare` of them in tolerant forms) and pushes them. */
  pushGenerated(n: number, options: GenerateOptions = {}): string[] {
    if (!this.pool) throw new Error('no thirdUrl is set: the simulator has nowhere to push orders');
    const machines = this.orderSource();
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const generated = this.generator.generate(machines, this.now(), options);
      const id = generated.notice.orderViewId;
      const state = generated.canonical ? this.newState(id, generated.notice) : this.newState(id);
      if (!generated.canonical) state.raw = generated.notice;
      state.generated = generated.order;
      this.unacked++;
      this.later(0, () => this.push(id));
      ids.push(id);
    }
    return ids;
  }

  /** A steady stream of generated orders (replaces a running one); bounded to 1,000 per 100 ms tick. */
  startStream(options: StreamOptions): void {
    if (!this.pool) throw new Error('no thirdUrl is set: the simulator has nowhere to push orders');
    if (!(options.ratePerSec > 0)) throw new Error('ratePerSec must be > 0');
    this.stopStream();
    const { ratePerSec, ...generate } = options;
    this.streaming = { ...options };
    let owed = 0;
    this.stream = setInterval(() => {
      owed = Math.min(owed + ratePerSec / 10, 1000);
      const n = Math.floor(owed);
      owed -= n;
      if (n === 0) return;
      if (this.unacked >= OwithoSim.STREAM_MAX_UNACKED) {
        if (!this.streamPaused)
          this.log.warn({ unacked: this.unacked }, 'order stream paused: too many un-acked notices');
        this.streamPaused = true;
        return;
      }
      this.streamPaused = false;
      try {
        this.pushGenerated(n, generate);
      } catch (error) {
        this.log.error({ err: error }, 'order stream stopped: cannot generate orders');
        this.stopStream();
      }
    }, 100);
    this.log.info({ ratePerSec, ...generate }, 'order stream started');
  }

  stopStream(): void {
    if (this.stream) {
      clearInterval(this.stream);
      this.log.info('order stream stopped');
    }
    this.stream = undefined;
    this.streaming = undefined;
  }

  /** The running stream's options, if any. */
  currentStream(): StreamOptions | undefined {
    return this.streaming ? { ...this.streaming } : undefined;
  }

  /**
   * A raw push: signs ANY payload (serialised as it is, never passed through our schemas) — or the
   * exact `data` string given — with the live tokens and POSTs it to the third party's `path`.
   * This is how tests send what owitho may legally send rather than what our schemas produce.
   */
  async pushRaw(
    path: string,
    raw: { payload?: unknown; data?: string },
  ): Promise<{ status: number; code?: number; msg?: string; data?: unknown }> {
    if (!this.pool) throw new Error('no thirdUrl is set: the simulator has nowhere to push');
    return this.post(path, raw.payload, raw.data);
  }

  private async post(
    path: string,
    payload: unknown,
    rawData?: string,
  ): Promise<{ status: number; code?: number; msg?: string; data?: unknown }> {
    const tokens = this.liveTokens();
    if (tokens.length === 0) throw new NoTokenError();
    const creds = { appId: this.settings.appId };
    const envelope =
      rawData === undefined
        ? signEnvelope(payload, creds, tokens, { now: this.now() })
        : signData(rawData, creds, tokens, { now: this.now() });
    const thirdUrl = new URL(this.settings.thirdUrl as string);
    const response = await (this.pool as Pool).request({
      method: 'POST',
      path: `${thirdUrl.pathname.replace(/\/+$/, '')}${path}`,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(envelope),
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    const answer = readAnswer(await response.body.text());
    return { status: response.statusCode, code: answer?.code, msg: answer?.msg, data: answer?.data };
  }

  private async push(orderViewId: string, duplicate = false): Promise<void> {
    const state = this.orderStates.get(orderViewId);
    const notice = state?.raw ?? state?.notice;
    if (!state || !notice) return;
    if (!duplicate && state.ackedAt) return;
    if (!duplicate && state.pushes >= this.settings.maxPushesPerOrder) {
      this.log.error({ orderViewId, pushes: state.pushes }, 'giving up pushing this notice');
      state.lastPushResult = `given up after ${state.pushes} pushes`;
      this.unacked--;
      return;
    }
    try {
      state.pushes++;
      state.lastPushAt = this.now();
      const answer = await this.post('/order/notice', notice);
      state.lastPushResult = `HTTP ${answer.status} code ${answer.code ?? '-'}`;
      const key = `${answer.status} ${answer.code ?? '-'}`;
      state.answers[key] = (state.answers[key] ?? 0) + 1;
      if (answer.code !== 200) state.lastRefusal = answer.msg;
      if (answer.status === 200 && answer.code === 200) {
        this.warnedNoToken = false;
        if (duplicate) return;
        state.ackedAt = this.now();
        this.unacked--;
        this.log.debug({ orderViewId, pushes: state.pushes }, 'notice acked');
        if (Math.random() < this.settings.duplicateRate) {
          state.duplicatesPushed++;
          this.later(Math.random() * this.settings.noticeRetryMs, () => this.push(orderViewId, true));
        }
        this.later(this.settings.queryAfterMs, () => this.queryIfSilent(orderViewId));
        return;
      }
      this.log.debug({ orderViewId, result: state.lastPushResult }, 'notice not acked; will re-push');
    } catch (error) {
      if (error instanceof NoTokenError) {
        state.pushes--;
        state.lastPushResult = 'not pushed: no live access token to sign with (fetch one first)';
        if (!this.warnedNoToken) {
          this.warnedNoToken = true;
          this.log.warn(
            'no live access token (never fetched, expired or revoked): notices wait until the third party fetches one',
          );
        }
      } else {
        state.lastPushResult = `error ${(error as { code?: string }).code ?? (error as Error).message}`;
        this.log.debug({ orderViewId, result: state.lastPushResult }, 'notice push failed; will re-push');
      }
    }
    if (!duplicate) this.later(this.settings.noticeRetryMs, () => this.push(orderViewId));
  }

  private async queryIfSilent(orderViewId: string): Promise<void> {
    const state = this.orderStates.get(orderViewId);
    if (!state || state.callbacks.length > 0) return;
    const at = this.now();
    try {
      const answer = await this.post('/order/query', { orderViewId });
      const parsed = orderResultSchema.safeParse(answer.data);
      state.queried = {
        at,
        ...(answer.code !== undefined ? { code: answer.code } : {}),
        ...(parsed.success ? { answer: parsed.data } : {}),
        ...(answer.code === 200 && !parsed.success
          ? { error: 'the answer does not match the order/query schema' }
          : {}),
      };
    } catch (error) {
      state.queried = { at, error: (error as Error).message };
    }
    this.log.info(
      {
        orderViewId,
        code: state.queried.code,
        outStatus: state.queried.answer?.outStatus,
        error: state.queried.error,
      },
      'no callback in time: asked order/query',
    );
  }

  reset(): void {
    this.stopStream();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.catalogueBySku.clear();
    this.layouts.clear();
    this.orderStates.clear();
    this.unacked = 0;
    this.counts.clear();
    this.tokens.reset();
    this.faults = this.settings.faults ?? {};
    this.held.releaseAll();
    this.syncRequests = { sku: 0, machine: 0 };
  }

  /**
   * Pushes from now on to another third party (a benchmark drives several connectors through one
   * simulator): the sockets to the previous one are closed once their pushes are answered.
   */
  async retarget(thirdUrl: string): Promise<void> {
    const previous = this.pool;
    this.settings.thirdUrl = thirdUrl;
    this.pool = new Pool(new URL(thirdUrl).origin, { connections: this.settings.pushConnections ?? 32 });
    this.log.info({ thirdUrl }, 'pushes re-targeted');
    await previous?.close();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.held.close();
    this.stopStream();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    // in-flight pushes are abandoned: a closing platform does not wait for the third party
    await this.pool?.destroy();
  }

  state() {
    const orders = this.orders();
    return {
      tokenFetches: this.tokenFetchCount(),
      tokenFetchesToday: this.tokens.fetchesToday(this.now()),
      liveTokenCount: this.liveTokens().length,
      heldRequests: this.held.size,
      catalogueSize: this.catalogueBySku.size,
      machines: [...new Set(this.machines().map((m) => m.machineCode))],
      syncRequests: this.syncRequests,
      orders: {
        total: orders.length,
        /** orders pushed at least once (an order waiting for a token is not) */
        pushed: orders.filter((o) => o.pushes > 0).length,
        acked: orders.filter((o) => o.ackedAt !== undefined).length,
        unacked: this.unacked,
        calledBack: orders.filter((o) => o.callbacks.length > 0).length,
        queried: orders.filter((o) => o.queried !== undefined).length,
        pushes: orders.reduce((n, o) => n + o.pushes, 0),
        duplicatesPushed: orders.reduce((n, o) => n + o.duplicatesPushed, 0),
      },
      stream: this.currentStream() ?? null,
      faults: this.faults,
      requests: this.requestCounts(),
    };
  }
}
