import { Writable } from 'node:stream';
import type { StartedMachineSim } from '@owc/machine-sim';
import { createLogger, type Logger } from '@owc/observability';
import type { OrderStore } from '@owc/order-store';
import type { StartedOwithoSim } from '@owc/owitho-sim';
import { callbackJobId, dispenseJobId, type Producer, type QueueName } from '@owc/queues';
import { type FleetOptions, generateFleet } from '@owc/sim-fleet';
import { noticeFor, redisTest, waitFor } from '@owc/testing';
import { loadWorkerConfig, type RunningWorker, runWorker } from '@owc/worker';
import type { Redis } from 'ioredis';
import { describe, expect } from 'vitest';
import { acceptOrder } from '../order-path-support.js';
import { expectExactlyOnce, startFaultSims } from './fault-support.js';

const FLEET: FleetOptions = { machines: 1, slotsPerMachine: 2, inventory: 20 };
/**
 * short, so the stalled-job checker (every lock duration) runs several times while we watch; not
 * the shortest allowed (1 s): on a loaded machine a lock that short expires under a busy event
 * loop, and the job is run twice (safely, but with lock errors in the log)
 */
const LOCK_MS = 2000;

interface Line {
  level: number;
  msg: string;
  jobId?: string;
  queue?: string;
  err?: { message: string };
}

/** A logger whose JSON lines the test can count. */
function capturingLogger(): { logger: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line) as Line);
      done();
    },
  });
  return { logger: createLogger({ level: 'warn', name: 'worker', destination }), lines };
}

interface Rig {
  machines: StartedMachineSim;
  owitho: StartedOwithoSim;
  store: OrderStore;
  producer: Producer;
  worker: RunningWorker;
  lines: Line[];
}

async function withRig(
  redis: Redis,
  redisUrl: string,
  prefix: string,
  env: Record<string, string>,
  body: (rig: Rig) => Promise<void>,
): Promise<void> {
  const sims = await startFaultSims(redis, redisUrl, prefix, { fleet: FLEET, vendDurationMs: 1000 });
  const { machines, owitho, store, producer } = sims;
  const { logger, lines } = capturingLogger();
  const worker = await runWorker(
    loadWorkerConfig(sims.workerEnv({ JOB_LOCK_DURATION_MS: String(LOCK_MS), ...env })),
    logger,
  );
  try {
    await body({ machines, owitho, store, producer, worker, lines });
  } finally {
    await worker.close();
    await sims.close();
  }
}

/**
 * The job has left the queue for good: not active, waiting, delayed or failed, nothing of it
 * left in Redis, and it stays so across several stalled-job checks (polled, up to a deadline).
 * Returns the warnings and errors logged about it by then.
 */
async function expectEndedForGood(
  redis: Redis,
  producer: Producer,
  queueName: QueueName,
  jobId: string,
  lines: readonly Line[],
): Promise<Line[]> {
  const queue = producer.queue(queueName);
  const jobKey = queue.toKey(jobId);
  const anywhere = async () => {
    const [active, wait, delayed, failed] = await Promise.all([
      redis.lrange(queue.toKey('active'), 0, -1),
      redis.lrange(queue.toKey('wait'), 0, -1),
      redis.zrange(queue.toKey('delayed'), '0', '-1'),
      redis.zrange(queue.toKey('failed'), '0', '-1'),
    ]);
    return [...active, ...wait, ...delayed, ...failed].includes(jobId);
  };
  await waitFor(async () => !(await anywhere()), { timeoutMs: 30_000, what: `${jobId} out of the queue` });
  const watchUntil = Date.now() + LOCK_MS * 5;
  await waitFor(
    async () => {
      expect(await anywhere()).toBe(false);
      expect(await redis.exists(jobKey, `${jobKey}:lock`, `${jobKey}:logs`)).toBe(0);
      return Date.now() > watchUntil;
    },
    { timeoutMs: LOCK_MS * 30, intervalMs: 100, what: 'the watch over several stalled checks' },
  );
  return lines.filter((l) => l.level >= 40);
}

describe('fault: a job whose keys vanish under it', () => {
  redisTest(
    'a dispense job whose hash is deleted mid-vend ends once, is logged once, and does not loop',
    async ({ redis, redisUrl, prefix }) => {
      // a dispense pod that does not call owitho (no token role here): the callback job would deliver
      const env = { WORKER_ROLES: 'dispense', CALLBACK_FIRST_DELIVERY: 'job' };
      await withRig(redis, redisUrl, prefix, env, async (rig) => {
        const machine = generateFleet(FLEET).machines[0];
        if (!machine) throw new Error('no machine');
        const notice = noticeFor('VANISH-D', machine, [[0, 1]]);
        const jobId = dispenseJobId(notice.orderViewId);
        await acceptOrder(rig.store, rig.producer, notice);
        await waitFor(async () => (await rig.store.unitState(notice.orderViewId, 0))?.s === 'attempted', {
          timeoutMs: 30_000,
          what: 'the vend in flight',
        });
        // the job's hash goes while its vend is in flight (an operator's DEL, an eviction)
        const queue = rig.producer.queue('dispense');
        expect(await redis.lrange(queue.toKey('active'), 0, -1)).toContain(jobId);
        expect(await redis.del(queue.toKey(jobId))).toBe(1);

        const logged = await expectEndedForGood(redis, rig.producer, 'dispense', jobId, rig.lines);
        expect(logged).toHaveLength(1);
        expect(logged[0]).toMatchObject({ level: 50, queue: 'dispense', jobId });
        // the vend itself went through once, and the order was finished
        expect((await rig.store.unitState(notice.orderViewId, 0))?.s).toBe('success');
        expect((await rig.store.get(notice.orderViewId))?.state).toBe('final');
      });
    },
    90_000,
  );

  redisTest(
    'a callback job whose hash is deleted while owitho holds its request ends once, logged once; the sweep reports the order',
    async ({ redis, redisUrl, prefix }) => {
      await withRig(
        redis,
        redisUrl,
        prefix,
        // the callback job makes the first delivery too, so that it is the one owitho holds
        {
          WORKER_ROLES: 'token,dispense,callback',
          CALLBACK_FIRST_DELIVERY: 'job',
          STUCK_ORDER_AFTER_MS: '1000',
        },
        async (rig) => {
          const machine = generateFleet(FLEET).machines[0];
          if (!machine) throw new Error('no machine');
          const notice = noticeFor('VANISH-C', machine, [[1, 1]]);
          const jobId = callbackJobId(notice.orderViewId);
          rig.owitho.sim.setFaults({ hang: true, path: '/order/callback' });
          await acceptOrder(rig.store, rig.producer, notice);
          await waitFor(() => rig.owitho.sim.state().heldRequests === 1, {
            timeoutMs: 30_000,
            what: 'the callback held by owitho',
          });
          const queue = rig.producer.queue('callback');
          expect(await redis.lrange(queue.toKey('active'), 0, -1)).toContain(jobId);
          expect(await redis.del(queue.toKey(jobId))).toBe(1);
          // the held request is let go (503): BullMQ can neither retry nor fail a job it cannot find
          rig.owitho.sim.clearFaults();
          const vanished = () => rig.lines.filter((l) => l.level >= 50);
          await waitFor(() => vanished().length > 0, { timeoutMs: 30_000, what: 'the vanished job logged' });
          expect(vanished()[0]).toMatchObject({ queue: 'callback', jobId });

          // the order stayed final: the stuck-order sweep gives it a new callback job
          await waitFor(async () => (await rig.store.get(notice.orderViewId))?.state === 'reported', {
            timeoutMs: 60_000,
            what: 'the order reported by a new callback job',
          });
          await expectExactlyOnce(rig.machines, rig.owitho, rig.store, [notice]);
          // several stalled checks later, still the one error line
          const watchUntil = Date.now() + LOCK_MS * 5;
          await waitFor(
            async () => {
              expect(vanished()).toHaveLength(1);
              expect(await redis.lrange(queue.toKey('active'), 0, -1)).not.toContain(jobId);
              return Date.now() > watchUntil;
            },
            { timeoutMs: LOCK_MS * 30, intervalMs: 100, what: 'the watch over several stalled checks' },
          );
        },
      );
    },
    90_000,
  );

  redisTest(
    'a dispense job whose hash is deleted while it waits ends once, is logged once, and its order is repaired, not retried hollow',
    async ({ redis, redisUrl, prefix }) => {
      await withRig(
        redis,
        redisUrl,
        prefix,
        // no stalled checks to watch here: a lock that cannot expire under load
        {
          WORKER_ROLES: 'token,dispense,callback',
          STUCK_ORDER_AFTER_MS: '1000',
          JOB_LOCK_DURATION_MS: '10000',
        },
        async (rig) => {
          const machine = generateFleet(FLEET).machines[0];
          if (!machine) throw new Error('no machine');
          const first = noticeFor('VANISH-W1', machine, [[0, 2]]);
          const second = noticeFor('VANISH-W2', machine, [[1, 1]]);
          const jobId = dispenseJobId(second.orderViewId);
          const queue = rig.producer.queue('dispense');
          await acceptOrder(rig.store, rig.producer, first);
          await waitFor(async () => (await rig.store.unitState(first.orderViewId, 0))?.s === 'attempted', {
            timeoutMs: 30_000,
            what: 'the first order holding the machine',
          });
          // the second order's job: added, not yet run; its hash goes before the machine is free
          await acceptOrder(rig.store, rig.producer, second);
          const deletedAt = await (async () => {
            const start = Date.now();
            await waitFor(async () => (await redis.del(queue.toKey(jobId))) === 1, {
              timeoutMs: 5000,
              what: 'the waiting job deleted',
            });
            return start;
          })();
          expect(await rig.store.unitState(second.orderViewId, 0)).toBeUndefined();

          // the stuck-order sweep puts a real job back; the order is dispensed and reported once
          await waitFor(async () => (await rig.store.get(second.orderViewId))?.state === 'reported', {
            timeoutMs: 60_000,
            what: `the second order reported (${Date.now() - deletedAt} ms)`,
          });
          await waitFor(async () => (await rig.store.get(first.orderViewId))?.state === 'reported', {
            timeoutMs: 60_000,
            what: 'the first order reported',
          });
          await expectExactlyOnce(rig.machines, rig.owitho, rig.store, [first, second]);
          // the hollow job failed once and was logged once (no retry of it, no loop)
          const failures = rig.lines.filter((l) => l.level >= 50);
          expect(failures.map((l) => `${l.queue} ${l.jobId} ${l.msg} ${l.err?.message}`)).toEqual([
            expect.stringMatching(`^dispense ${jobId} `),
          ]);
          // deleted while waiting (it fails hollow) or while just taken (it is cleared away): one line either way
          expect(failures[0]).toMatchObject({
            queue: 'dispense',
            jobId,
            err: { message: expect.stringMatching(/hash vanished|^Missing key for job/) },
          });
        },
      );
    },
    120_000,
  );

  redisTest(
    'a dispense and a callback job whose order record is gone each fail once, are logged once, and stay failed',
    async ({ redis, redisUrl, prefix }) => {
      await withRig(redis, redisUrl, prefix, { WORKER_ROLES: 'dispense,callback' }, async (rig) => {
        const dispenseId = dispenseJobId('GONE-D');
        const callbackId = callbackJobId('GONE-C');
        await rig.producer.enqueue(
          'order.dispense',
          { orderViewId: 'GONE-D', machineCode: 'M001' },
          { jobId: dispenseId },
        );
        await rig.producer.enqueue('order.callback', { orderViewId: 'GONE-C' }, { jobId: callbackId });
        const failed = async (queue: QueueName, jobId: string) =>
          (await rig.producer.queue(queue).getJob(jobId))?.failedReason;
        await waitFor(
          async () => (await failed('dispense', dispenseId)) && (await failed('callback', callbackId)),
          {
            timeoutMs: 30_000,
            what: 'both jobs failed',
          },
        );
        const watchUntil = Date.now() + LOCK_MS * 5;
        await waitFor(
          async () => {
            for (const [queue, jobId] of [
              ['dispense', dispenseId],
              ['callback', callbackId],
            ] as const) {
              const job = await rig.producer.queue(queue).getJob(jobId);
              expect(await job?.getState()).toBe('failed');
              expect(job?.attemptsMade).toBe(1);
            }
            return Date.now() > watchUntil;
          },
          { timeoutMs: LOCK_MS * 30, intervalMs: 100, what: 'the watch over several stalled checks' },
        );
        const logged = rig.lines.filter((l) => l.level >= 40);
        expect(logged.map((l) => [l.level, l.queue, l.jobId])).toEqual(
          expect.arrayContaining([
            [50, 'dispense', dispenseId],
            [50, 'callback', callbackId],
          ]),
        );
        expect(logged).toHaveLength(2);
        for (const line of logged) expect(line.err?.message).toMatch(/is not in the order store/);
      });
    },
    90_000,
  );
});
