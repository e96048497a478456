import {
  gatewaySettingsShape,
  logSettingsShape,
  orderStoreSettingsShape,
  owithoSettingsShape,
  parseSettings,
  redisSettingsShape,
  setting,
  tokenSettingsShape,
  tracingSettingsShape,
} from '@owc/config';
import { CALLBACK_MAX_ATTEMPTS } from '@owc/queues';
import { z } from 'zod';

export const WORKER_ROLES = ['dispense', 'callback', 'sync', 'token'] as const;
export type WorkerRole = (typeof WORKER_ROLES)[number];

const rolesSetting = setting
  .list()
  .default([...WORKER_ROLES])
  .pipe(
    z
      .array(z.string())
      .min(1, { message: 'WORKER_ROLES: name at least one role' })
      .superRefine((roles, ctx) => {
        for (const role of roles) {
          if (!(WORKER_ROLES as readonly string[]).includes(role)) {
            ctx.addIssue({
              code: 'custom',
              message: `unknown role "${role}": the roles are ${WORKER_ROLES.join(', ')}`,
            });
          }
        }
      })
      .transform((roles) => [...new Set(roles)] as WorkerRole[]),
  );

export const workerSettingsSchema = z
  .object({
    ...redisSettingsShape,
    ...logSettingsShape,
    ...tracingSettingsShape,
    ...owithoSettingsShape,
    ...tokenSettingsShape,
    ...orderStoreSettingsShape,
    ...gatewaySettingsShape,
    WORKER_ROLES: rolesSetting,
    /** how long SIGTERM waits for active jobs before it closes anyway */
    SHUTDOWN_TIMEOUT_MS: setting.int(0).default(10_000),
    /** where GET /metrics and /healthz of the worker listen; 0 = a free port, -1 = off */
    WORKER_METRICS_PORT: setting.int(-1, 65535).default(9464),
    /** how long GET /readyz waits for one check (Redis PING, token read) before calling it failed */
    READY_CHECK_TIMEOUT_MS: setting.int(1).default(1000),
    METRICS_MACHINE_LABELS_MAX: setting.int(0, 100_000).default(500),
    /** BullMQ job lock (and stalled-check interval): how soon a job of a dead pod is picked up again */
    JOB_LOCK_DURATION_MS: setting.int(1000).default(30_000),
    // dispense role
    /**
     * dispense jobs one pod holds at once: those vending and those waiting in-process for their
     * machine (no CPU while they wait), so enough to keep every machine with work busy
     */
    DISPENSE_CONCURRENCY: setting.int(1).default(1000),
    MACHINE_LEASE_TTL_MS: setting.int(1000).default(30_000),
    MACHINE_LEASE_WAIT_MS: setting.int(1).default(2000),
    VEND_RETRY_BUDGET: setting.int(1).default(3),
    VEND_RESOLVE_BACKOFF_MS: setting.msList().default([250, 500, 1000, 2000, 5000]),
    VEND_RETRY_DELAY_MS: setting.int(0).default(2000),
    STUCK_ORDER_AFTER_MS: setting.int(1000).default(10 * 60_000),
    /** owc_dispense_machines_with_work (what KEDA scales dispense on) reads at most this many open jobs */
    DISPENSE_MACHINES_SAMPLE: setting.int(1).default(10_000),
    // callback role: delays between deliveries, Svix-like (seconds, then minutes, then hours; > 24 h in all)
    // fewer entries than the catalog's ceiling on a callback job's attempts, which it must end first
    CALLBACK_SCHEDULE_MS: setting
      .msList()
      .pipe(z.array(z.number()).max(CALLBACK_MAX_ATTEMPTS - 1))
      .default([5_000, 30_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]),
    CALLBACK_JITTER: setting.number(0).pipe(z.number().max(1)).default(0.2),
    CALLBACK_CONCURRENCY: setting.int(1).default(32),
    /**
     * who makes an order's first callback delivery: `inline`, the dispense job as soon as the
     * order is final (its callback job only when owitho does not accept it); `job`, always the
     * callback job (for dispense pods that must not call owitho)
     */
    CALLBACK_FIRST_DELIVERY: setting.oneOf(['inline', 'job']).default('inline'),
    /**
     * first deliveries a dispense pod waits on owitho for at once; a final order past that goes
     * to its callback job at once (a slow or hung owitho holds at most this many dispense jobs)
     */
    CALLBACK_FIRST_DELIVERIES_IN_FLIGHT: setting.int(1).default(512),
    // sync role
    SKU_BATCH_SIZE: setting.int(1, 10_000).default(100),
    SKU_BATCH_MAX_WAIT_MS: setting.int(0).default(1000),
    OWITHO_RATE_LIMIT_PER_SEC: setting.int(1).default(50),
    /** sku.upsert jobs one pod consumes at once (each is one Redis script; they never call owitho) */
    SKU_SYNC_CONCURRENCY: setting.int(1).default(16),
    /** how long a taken sku batch is a pod's before another pod takes it back; longer than one sku/sync call */
    SKU_BATCH_LEASE_MS: setting.int(100).default(60_000),
    /** machine.restocked / machine.layout jobs one pod consumes at once */
    MACHINE_SYNC_CONCURRENCY: setting.int(1).default(16),
    /** a machine is sent once no newer change came for this long... */
    MACHINE_SYNC_QUIET_MS: setting.int(0).default(300),
    /** ...or once its first unsent change waited this long */
    MACHINE_SYNC_MAX_WAIT_MS: setting.int(0).default(2000),
    /** TTL of the per-machine sync lock (renewed while held): how soon another pod takes over from a dead one */
    MACHINE_SYNC_LOCK_MS: setting.int(100).default(30_000),
  })
  .superRefine((s, ctx) => {
    // a vend holds its socket until the unit has dropped: fewer sockets than dispense jobs would
    // queue vends behind each other, their wait counted against their own timeout
    if (s.WORKER_ROLES.includes('dispense') && s.GATEWAY_CONNECTIONS < s.DISPENSE_CONCURRENCY) {
      ctx.addIssue({
        code: 'custom',
        path: ['GATEWAY_CONNECTIONS'],
        message: `must be at least DISPENSE_CONCURRENCY (${s.DISPENSE_CONCURRENCY}): each vend in flight holds a socket to the gateway`,
      });
    }
    if (s.MACHINE_LEASE_TTL_MS <= s.GATEWAY_VEND_TIMEOUT_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['MACHINE_LEASE_TTL_MS'],
        message: `must be longer than GATEWAY_VEND_TIMEOUT_MS (${s.GATEWAY_VEND_TIMEOUT_MS})`,
      });
    }
    // a sku/sync batch must not be taken back (and a newer version sent) while its request may still land
    const owithoCallMs = s.OWITHO_CONNECT_TIMEOUT_MS + s.OWITHO_HEADERS_TIMEOUT_MS + s.OWITHO_BODY_TIMEOUT_MS;
    if (s.SKU_BATCH_LEASE_MS <= owithoCallMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['SKU_BATCH_LEASE_MS'],
        message: `must be longer than one owitho call can take (connect + headers + body timeouts: ${owithoCallMs} ms)`,
      });
    }
  });

export type WorkerConfig = z.infer<typeof workerSettingsSchema>;

export function loadWorkerConfig(env: Record<string, string | undefined> = process.env): WorkerConfig {
  return parseSettings(workerSettingsSchema, env);
}
