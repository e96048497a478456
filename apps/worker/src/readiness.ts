import type { RedisClient } from '@owc/redis';
import type { Worker } from 'bullmq';

/**
 * One readiness check: resolves to undefined when fine, or to a short reason why not (said in
 * the /readyz answer). A check that throws or takes too long counts as not ready.
 */
export type ReadinessCheck = () => Promise<string | undefined>;

export interface ReadinessReport {
  ready: boolean;
  /** every check by name: 'ok' or the reason it is not */
  checks: Record<string, string>;
}

/**
 * What GET /readyz answers: every check registered, each bounded in time. Roles contribute
 * their own checks (RunningRole.readiness); run-worker adds Redis and "every role started".
 */
export class Readiness {
  private readonly checks = new Map<string, ReadinessCheck>();
  private stopping = false;

  constructor(private readonly timeoutMs: number) {}

  add(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  /** From now on not ready: the process is shutting down. */
  stop(): void {
    this.stopping = true;
  }

  async report(): Promise<ReadinessReport> {
    const entries = await Promise.all(
      [...this.checks].map(async ([name, check]) => [name, await this.run(check)] as const),
    );
    const checks: Record<string, string> = Object.fromEntries(entries);
    if (this.stopping) checks.process = 'stopping';
    return { ready: Object.values(checks).every((outcome) => outcome === 'ok'), checks };
  }

  private async run(check: ReadinessCheck): Promise<string> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(`no answer within ${this.timeoutMs} ms`), this.timeoutMs);
    });
    try {
      return await Promise.race([
        check().then(
          (reason) => reason ?? 'ok',
          (error: unknown) => (error instanceof Error ? error.message : String(error)),
        ),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Redis answers: the connection is up and PING comes back (bounded by the Readiness timeout). */
export function redisCheck(redis: RedisClient): ReadinessCheck {
  return async () => {
    if (redis.status !== 'ready') return `redis connection ${redis.status}`;
    const pong = await redis.ping();
    return pong === 'PONG' ? undefined : `redis answered ${pong}`;
  };
}

/** A BullMQ Worker is consuming: started, not paused, not closing. */
export function bullWorkerCheck(worker: Worker): ReadinessCheck {
  return async () => {
    if (worker.closing) return 'closing';
    if (!worker.isRunning()) return 'not running';
    if (worker.isPaused()) return 'paused';
    return undefined;
  };
}
