import type { MachineGateway } from '@owc/gateway';
import type { Logger, Registry, Tracing } from '@owc/observability';
import type { OrderStore } from '@owc/order-store';
import type { OwithoClient } from '@owc/owitho-client';
import type { ConsumerOptions, Producer } from '@owc/queues';
import type { RedisClient } from '@owc/redis';
import type { TokenKeeper } from '@owc/token';
import { CallbackDelivery } from './callback/callback-delivery.js';
import { callbackMetrics } from './callback/callback-metrics.js';
import type { WorkerConfig, WorkerRole } from './config.js';
import type { ReadinessCheck } from './readiness.js';
import type { TimelineWriter } from './timeline-writer.js';

/** What every role is handed; built once in main, passed down (no singletons). */
export interface WorkerContext {
  config: WorkerConfig;
  logger: Logger;
  metrics: Registry;
  /** shared connection for non-blocking commands (store, leases, buffers) */
  redis: RedisClient;
  /** a new connection for a BullMQ Worker (blocking commands need their own) */
  newConnection(): RedisClient;
  store: OrderStore;
  /** the order timelines (order page, jobs' Logs tab) */
  timeline: TimelineWriter;
  producer: Producer;
  tokens: TokenKeeper;
  owitho: OwithoClient;
  gateway: MachineGateway;
  /** BullMQ telemetry for every Worker (tracing on); undefined when tracing is off */
  telemetry?: Tracing['bullmq'];
}

/** A started role. `close()` stops taking work and waits for active jobs (the caller bounds it in time). */
export interface RunningRole {
  role: WorkerRole;
  close(): Promise<void>;
  /** called when close() did not finish within SHUTDOWN_TIMEOUT_MS: let go of what is held (leases) */
  abandon?(): Promise<void>;
  /**
   * What this role needs to be ready, by name (reported as `<role>.<name>` on /readyz): its
   * BullMQ workers consuming, and whatever else the role depends on (the token role: a usable
   * token). Redis itself is checked once for the whole process.
   */
  readiness?: Record<string, ReadinessCheck>;
}

export type RoleStarter = (ctx: WorkerContext) => Promise<RunningRole>;

/**
 * What every role's BullMQ Worker shares: a connection of its own (blocking commands), tracing,
 * our key prefix, and the job lock, JOB_LOCK_DURATION_MS, which is also how often stalled jobs
 * are looked for (how soon a crashed pod's jobs are picked up again).
 */
export function consumerOptions(ctx: WorkerContext, concurrency: number): ConsumerOptions {
  return {
    connection: ctx.newConnection(),
    telemetry: ctx.telemetry,
    keyPrefix: ctx.config.KEY_PREFIX,
    concurrency,
    lockDuration: ctx.config.JOB_LOCK_DURATION_MS,
    stalledInterval: ctx.config.JOB_LOCK_DURATION_MS,
  };
}

/**
 * One callback delivery as every role makes it (the callback role, and the dispense role's first
 * delivery): the same schedule, and the same metrics (defining them twice on the registry returns
 * the same series).
 */
export function callbackDelivery(ctx: WorkerContext): CallbackDelivery {
  return new CallbackDelivery({
    store: ctx.store,
    owitho: ctx.owitho,
    scheduleMs: ctx.config.CALLBACK_SCHEDULE_MS,
    jitter: ctx.config.CALLBACK_JITTER,
    metrics: callbackMetrics(ctx.metrics, ctx.store),
  });
}
