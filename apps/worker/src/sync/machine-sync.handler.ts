import type { MachineGateway } from '@owc/gateway';
import type { Logger } from '@owc/observability';
import type { CallOutcome } from '@owc/owitho-client';
import { type MachineLayout, machineLayoutSchema } from '@owc/protocol';
import { type JobPayload, stepBack } from '@owc/queues';
import { type Job, UnrecoverableError } from 'bullmq';
import { loggedFailure } from '../queues/worker-errors.js';
import type { LayoutSource, MachineSyncState } from './machine-sync-state.js';
import { jobVersion } from './sku-upsert.handler.js';
import type { SyncMetrics } from './sync-metrics.js';

/** Where the sync worker saves what it sent (MachineStateStore of @owc/machine-state satisfies it). */
export interface LayoutSnapshots {
  save(layout: MachineLayout, seenAt?: number): Promise<boolean>;
}

export interface MachineSyncHandlerOptions {
  state: MachineSyncState;
  gateway: Pick<MachineGateway, 'getMachine' | 'getContainers'>;
  /** one machine/sync (one container's layout) */
  send: (layout: MachineLayout) => Promise<CallOutcome>;
  /** waits for the shared owitho rate limit */
  acquire?: () => Promise<void>;
  snapshots?: LayoutSnapshots;
  /** a fresh value of the machine-sync queue's id counter (for jobs added with a custom id) */
  nextVersion?: () => Promise<number>;
  /** send once no new event came for this long (MACHINE_SYNC_QUIET_MS) */
  quietMs: number;
  /** … but never hold an event longer than this (MACHINE_SYNC_MAX_WAIT_MS) */
  maxHoldMs: number;
  /** how soon a job tries again while another holds the machine's lock; default 200 ms */
  lockedRetryMs?: number;
  /** the per-machine lock's lifetime: longer than a gateway read plus one owitho call */
  lockTtlMs: number;
  metrics: SyncMetrics;
  logger: Logger;
}

type MachineJob = Pick<Job, 'id' | 'timestamp' | 'moveToDelayed'>;

/**
 * `machine.restocked` and `machine.layout`: every event is recorded per machine (the latest
 * enqueued wins); a job completes once a machine/sync that covered it was answered 200. The job
 * that finds the machine quiet (no event for quietMs, or the first unsent one older than
 * maxHoldMs) and gets the machine's lock reads the source once — the gateway, or the given
 * layout — and sends it; the other jobs wait as delayed jobs and then find themselves covered.
 */
export class MachineSyncHandler {
  private readonly quietMs: number;
  private readonly maxHoldMs: number;
  private readonly lockedRetryMs: number;

  constructor(private readonly options: MachineSyncHandlerOptions) {
    this.quietMs = options.quietMs;
    this.maxHoldMs = options.maxHoldMs;
    this.lockedRetryMs = options.lockedRetryMs ?? 200;
  }

  /** a restock naming a container syncs that container; naming none, every container of the machine */
  readonly restocked = (payload: JobPayload<'machine.restocked'>, job: MachineJob, token?: string) =>
    this.handle(
      { machineCode: payload.machineCode, containerCode: payload.containerCode },
      { kind: 'gateway' },
      job,
      token,
    );

  /** coalesced per (machineCode, containerCode): two containers never overwrite each other */
  readonly layout = (payload: JobPayload<'machine.layout'>, job: MachineJob, token?: string) =>
    this.handle(
      { machineCode: payload.machineCode, containerCode: payload.containerCode },
      { kind: 'layout', json: JSON.stringify(payload), at: job.timestamp },
      job,
      token,
    );

  private async handle(
    target: { machineCode: string; containerCode?: string | undefined },
    source: LayoutSource,
    job: MachineJob,
    token: string | undefined,
  ): Promise<{ version: number; synced: number; sent: boolean }> {
    const { state, metrics } = this.options;
    const { machineCode, containerCode } = target;
    const log = this.options.logger.child({
      machineCode,
      ...(containerCode !== undefined ? { containerCode } : {}),
      jobId: job.id,
    });
    const jobId = String(job.id);
    const version = jobVersion(job.id);
    const view = await state.record(target, {
      jobId,
      source,
      ...(version !== undefined ? { version } : {}),
      ...(this.options.nextVersion ? { fallbackVersion: this.options.nextVersion } : {}),
    });
    const done = async (result: string) => {
      metrics.machineEvents.inc({ result });
      if (version === undefined) await state.forgetJob(target, jobId);
    };
    if (view.synced >= view.version) {
      await done('covered');
      return { version: view.version, synced: view.synced, sent: false };
    }
    if (view.failed >= view.version) {
      await done('unknown-machine');
      throw new UnrecoverableError(view.failReason ?? `machine ${machineCode} cannot be synced`);
    }
    const quietFor = view.now - view.lastAt;
    const heldFor = view.firstAt > 0 ? view.now - view.firstAt : 0;
    if (quietFor < this.quietMs && heldFor < this.maxHoldMs) {
      const wait = Math.min(this.quietMs - quietFor, this.maxHoldMs - heldFor);
      return stepBack(job, token, wait, 'machine changes still coming in');
    }
    const unlock = await state.tryLock(target, this.options.lockTtlMs);
    if (!unlock) return stepBack(job, token, this.lockedRetryMs, 'machine sync locked by another job');
    try {
      const { version: latest, source: latestSource } = await state.latestSource(target);
      const seenAt = Date.now();
      let layouts: MachineLayout[];
      if (latestSource.kind === 'layout') {
        layouts = [machineLayoutSchema.parse(JSON.parse(latestSource.json))];
      } else {
        const live =
          containerCode === undefined
            ? await this.options.gateway.getContainers(machineCode)
            : await this.options.gateway
                .getMachine(machineCode, containerCode)
                .then((l) => (l ? [l] : undefined));
        if (!live || live.length === 0) {
          const what =
            containerCode === undefined
              ? `machine ${machineCode}`
              : `container ${containerCode} of machine ${machineCode}`;
          const reason = `${what} is unknown to the gateway (404): nothing to sync`;
          await state.markFailed(target, latest, reason);
          await done('unknown-machine');
          throw new UnrecoverableError(reason);
        }
        layouts = live;
      }
      // one machine/sync per container (a whole-machine restock of a machine with several sends each)
      for (const layout of layouts) {
        await this.options.acquire?.();
        const outcome = await this.options.send(layout);
        metrics.machineSyncs.inc({ outcome: outcome.kind });
        if (outcome.kind !== 'ok') {
          // logged here with what only the handler knows; the role does not log it again
          log[outcome.kind === 'permanent' ? 'error' : 'warn'](
            {
              outcome: outcome.kind,
              reason: outcome.reason,
              version: latest,
              container: layout.containerCode,
            },
            'machine/sync not accepted',
          );
          if (outcome.kind === 'permanent') {
            await done('failed');
            throw loggedFailure(
              new UnrecoverableError(`machine/sync of ${machineCode} refused: ${outcome.reason}`),
            );
          }
          throw loggedFailure(
            new Error(`machine/sync of ${machineCode} not accepted (${outcome.kind}): ${outcome.reason}`),
          );
        }
      }
      await state.markSynced(target, latest);
      if (this.options.snapshots) {
        for (const layout of layouts) {
          try {
            await this.options.snapshots.save(
              layout,
              latestSource.kind === 'layout' ? latestSource.at : seenAt,
            );
          } catch (error) {
            log.warn({ err: error }, 'machine snapshot not saved');
          }
        }
      }
      log.info(
        {
          version: latest,
          containers: layouts.map((l) => l.containerCode ?? null),
          slots: layouts.map((l) => l.slotList.length),
        },
        'machine/sync sent',
      );
      await done('synced');
      return { version: view.version, synced: latest, sent: true };
    } finally {
      await unlock();
    }
  }
}
