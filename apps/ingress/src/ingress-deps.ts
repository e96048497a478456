import type { MachineStateStore } from '@owc/machine-state';
import type { Logger, Tracing } from '@owc/observability';
import type { OrderStore } from '@owc/order-store';
import type { MachineLayout } from '@owc/protocol';
import type { Producer } from '@owc/queues';
import type { RedisClient } from '@owc/redis';
import type { IngressConfig } from './config.js';
import type { IngressMetrics } from './ingress-metrics.js';

/** The tokens honoured right now (TokenKeeper.peekHonouredTokens): never fetches. */
export interface HonouredTokens {
  /** may come from a short in-process cache (TOKEN_CACHE_MS) */
  peekHonouredTokens(): Promise<string[]>;
  /** the same read, bypassing the cache: used once when no signature matches, so a token the
   *  worker has just rotated in is honoured at once rather than after the cache expires */
  freshHonouredTokens?(): Promise<string[]>;
  /** how the deployment's token fetches are going; a misconfiguration makes /readyz fail */
  health?(): Promise<{ misconfiguration?: string }>;
  /** a request verified: resets the wait between verification refreshes (SignatureFailureWatch) */
  verified?(): void;
  /** a request failed the signature check against every honoured token: may ask for a verification refresh */
  signatureFailed?(tokens: readonly string[]): Promise<unknown>;
}

/**
 * The machine gateway's live read (HttpMachineGateway.getContainers): one layout per container,
 * sorted by containerCode; undefined = unknown machine.
 */
export interface MachineReader {
  getContainers(machineCode: string): Promise<MachineLayout[] | undefined>;
  /** one container (the named one, else the only one or the first by code); undefined = unknown */
  getMachine(machineCode: string, containerCode?: string): Promise<MachineLayout | undefined>;
}

/** Everything the app is built from; made once in server.ts (or a test) and passed down. */
export interface IngressDeps {
  config: IngressConfig;
  logger: Logger;
  /** the producer connection ('producer' purpose: fails fast when Redis is away) */
  redis: RedisClient;
  store: OrderStore;
  producer: Producer;
  tokens: HonouredTokens;
  gateway: MachineReader;
  machines: MachineStateStore;
  metrics: IngressMetrics;
  /** tracing on: the public listener's requests become spans (@fastify/otel) */
  tracing?: Tracing;
  now?: () => number;
}
