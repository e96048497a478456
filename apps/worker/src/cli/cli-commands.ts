import { type Logger, Registry } from '@owc/observability';
import {
  describeEvent,
  ORDER_STATES,
  type OrderStore,
  type OrderTimeline,
  PackedOrderError,
  resultOf,
} from '@owc/order-store';
import {
  type ApiKeyStore,
  callbackJobId,
  dispenseJobId,
  type Producer,
  replayCallbackJobId,
} from '@owc/queues';
import { enqueueCallback } from '../callback/callback-jobs.js';
import { stuckOrderMetrics } from '../dispense/dispense-metrics.js';
import { StuckOrders } from '../dispense/stuck-orders.js';
import type { SkuBuffer } from '../sync/sku-buffer.js';

export interface CliDeps {
  store: OrderStore;
  producer: Producer;
  keys: ApiKeyStore;
  /** order timelines: a replay is written there, order:show and orders:list read them */
  timeline?: OrderTimeline;
  /** the sku/sync buffer: skus:dead and skus:replay read its dead letters */
  skuBuffer?: SkuBuffer;
  stuckAfterMs: number;
  logger: Logger;
  /** the token keeper (token:refresh) */
  tokens?: {
    refreshNow(): Promise<{ expireAt: number }>;
    fetchesToday(): Promise<number>;
  };
  dailyQuota?: number;
  /** where lines for the operator go */
  out: (line: string) => void;
}

export const CLI_USAGE = `usage: pnpm cli <command>
  callback:replay <orderViewId>        deliver a dead (or undelivered) callback again, from its stored result
  orders:stuck [--older-than-ms N]     list orders open longer than N ms (default STUCK_ORDER_AFTER_MS)
  orders:repair [--older-than-ms N] [--include-dead]
                                       re-create missing/failed dispense and callback jobs of stuck orders
  order:show <orderViewId>             the stored order, its units, result, callback state and jobs
  token:refresh                        fetch a new access token now (after fixing the credentials; ignores
                                       the cooldown of failed fetches, never the daily quota)
  orders:list [--machine M] [--state S] [--since ISO] [--until ISO] [--limit N]
                                       orders by acceptance time (newest first), with state and outStatus
  callbacks:dead                       orders whose callback was given up on (replay: callback:replay <id>)
  skus:dead                            dead-lettered sku/sync batches: batch id, reason, skus
  skus:replay <batchId>                a dead batch's skus back to the sync buffer, unless changed since
  keys:create <system> <job>[,<job>…]  a new API key for a calling system, scoped to public jobs (shown once)
  keys:list                            every API key: id, system, jobs, created (never the key)
  keys:revoke <id|system>              revoke one key by its id, or every key of a system`;

/** Parses `--older-than-ms N`; undefined when absent. */
function olderThan(args: readonly string[]): number | undefined {
  const at = args.indexOf('--older-than-ms');
  if (at === -1) return undefined;
  const value = Number(args[at + 1]);
  if (!Number.isSafeInteger(value) || value < 0)
    throw new UsageError('--older-than-ms takes a whole number of ms');
  return value;
}

/** Every time the CLI shows is ISO 8601 (UTC). */
function iso(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

function withIsoTime(state: object): Record<string, unknown> {
  const at = (state as { at?: unknown }).at;
  return typeof at === 'number' ? { ...state, at: iso(at) } : { ...state };
}

/** orders:list shows at most this many unless --limit says otherwise */
const ORDERS_LIST_LIMIT = 100;
/** how far back skus:replay looks for the batch id (the dead list keeps the newest 1000) */
const DEAD_BATCHES_SCANNED = 1000;

function option(args: readonly string[], name: string): string | undefined {
  const at = args.indexOf(name);
  if (at === -1) return undefined;
  const value = args[at + 1];
  if (value === undefined || value.startsWith('--')) throw new UsageError(`${name} needs a value`);
  return value;
}

function timeOption(args: readonly string[], name: string): number | undefined {
  const value = option(args, name);
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new UsageError(`${name} takes an ISO time, e.g. 2026-01-31T08:00:00Z`);
  return ms;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

/** Runs one command; resolves with the process exit code. */
export async function runCliCommand(deps: CliDeps, argv: readonly string[]): Promise<number> {
  const [command, ...args] = argv;
  const { store, producer, out } = deps;
  const stuck = new StuckOrders({
    store,
    producer,
    stuckAfterMs: deps.stuckAfterMs,
    logger: deps.logger,
    // a CLI run is never scraped: its gauge goes to a registry of its own
    metrics: stuckOrderMetrics(new Registry()),
  });
  switch (command) {
    case 'callback:replay': {
      const orderViewId = args[0];
      if (!orderViewId) throw new UsageError('callback:replay needs an orderViewId');
      const record = await store.get(orderViewId);
      if (!record) {
        out(`order ${orderViewId}: not in the store`);
        return 1;
      }
      if (!record.result) {
        out(`order ${orderViewId}: not final yet (${record.state}); nothing to replay`);
        return 1;
      }
      const revived = await store.revive(orderViewId);
      const jobId = replayCallbackJobId(orderViewId);
      // replay: the callback role delivers it even when the order was already reported
      const { id } = await enqueueCallback(producer, orderViewId, jobId, {
        replay: true,
      });
      await deps.timeline?.append(orderViewId, { e: 'callback-replay', at: Date.now(), jobId: id });
      const was = revived
        ? 'revived from dead'
        : record.state === 'reported'
          ? 'already reported, sent again'
          : record.state;
      out(`order ${orderViewId}: ${was}; callback job ${id} enqueued`);
      return 0;
    }
    case 'orders:stuck': {
      const list = await stuck.list(olderThan(args) ?? deps.stuckAfterMs);
      if (list.length === 0) out('no stuck orders');
      for (const o of list) {
        out(
          `${o.orderViewId}\t${o.state}\tmachine ${o.machineCode}\tage ${Math.round(o.ageMs / 1000)}s\t${o.job.queue} job ${o.job.id}: ${o.job.state}`,
        );
      }
      return 0;
    }
    case 'orders:repair': {
      const list = await stuck.list(olderThan(args) ?? deps.stuckAfterMs);
      const actions = await stuck.repair(list, { includeDead: args.includes('--include-dead') });
      const changed = actions.filter((a) => a.action !== 'none');
      for (const a of changed) out(`${a.orderViewId}\t${a.kind}\t${a.action}\tjob ${a.jobId}`);
      out(`${list.length} stuck, ${changed.length} repaired`);
      return 0;
    }
    case 'token:refresh': {
      if (!deps.tokens) throw new UsageError('token:refresh needs the token keeper');
      try {
        const state = await deps.tokens.refreshNow();
        out(
          `access token refreshed: expires ${new Date(state.expireAt).toISOString()}; ` +
            `${await deps.tokens.fetchesToday()} of ${deps.dailyQuota ?? '?'} fetches used today (UTC)`,
        );
        return 0;
      } catch (error) {
        out(`access token refresh failed: ${error instanceof Error ? error.message : String(error)}`);
        return 1;
      }
    }
    case 'order:show': {
      const orderViewId = args[0];
      if (!orderViewId) throw new UsageError('order:show needs an orderViewId');
      const record = await store.get(orderViewId);
      if (!record) {
        out(`order ${orderViewId}: not in the store`);
        return 1;
      }
      const jobs: Record<string, string> = {};
      for (const [queue, id] of [
        ['dispense', dispenseJobId(orderViewId)],
        ['callback', callbackJobId(orderViewId)],
      ] as const) {
        const job = await producer.queue(queue).getJob(id);
        jobs[`${queue}:${id}`] = job ? await job.getState() : 'missing';
      }
      out(
        JSON.stringify(
          {
            orderViewId,
            state: record.state,
            machineCode: record.machineCode,
            acceptedAt: iso(record.acceptedAt),
            finalAt: iso(record.finalAt),
            units: record.units.map((u) => ({
              vendId: u.vendId,
              slotNum: u.slotNum,
              skuCode: u.skuCode,
              state: withIsoTime(record.unitStates.get(u.index) ?? { s: 'pending' }),
            })),
            result: resultOf(record),
            callback: {
              attempts: record.callback.attempts,
              lastAttemptAt: iso(record.callback.lastAttemptAt),
              lastError: record.callback.lastError,
              reportedAt: iso(record.callback.reportedAt),
              deadAt: iso(record.callback.deadAt),
            },
            duplicates: record.duplicates,
            conflicts: record.conflicts,
            jobs,
            timeline: (await deps.timeline?.read(orderViewId))?.map(describeEvent),
          },
          null,
          2,
        ),
      );
      return 0;
    }
    case 'orders:list': {
      if (!deps.timeline) throw new UsageError('orders:list needs the order timeline');
      const state = option(args, '--state');
      if (state && !(ORDER_STATES as readonly string[]).includes(state)) {
        throw new UsageError(`--state is one of ${ORDER_STATES.join(', ')}`);
      }
      const found = await deps.timeline.search({
        machineCode: option(args, '--machine'),
        since: timeOption(args, '--since'),
        until: timeOption(args, '--until'),
        limit: Number(option(args, '--limit') ?? ORDERS_LIST_LIMIT),
      });
      let shown = 0;
      for (const { orderViewId, acceptedAt } of found) {
        // a record that cannot be read is listed as such; the rest of the list still shows
        const read = await store.tryGet(orderViewId);
        const record = read instanceof PackedOrderError ? undefined : read;
        const recordState = read instanceof PackedOrderError ? 'unreadable' : (record?.state ?? 'expired');
        if (state && recordState !== state) continue;
        shown++;
        out(
          `${orderViewId}\t${iso(acceptedAt)}\t${record?.machineCode ?? ''}\t${recordState}\t${record?.result?.outStatus ?? ''}`,
        );
      }
      if (shown === 0) out('no orders found');
      return 0;
    }
    case 'callbacks:dead': {
      const dead = await store.deadOrders();
      if (dead.length === 0) out('no dead callbacks');
      for (const orderViewId of dead) {
        const record = await store.get(orderViewId);
        out(
          `${orderViewId}\tdead ${iso(record?.callback.deadAt) ?? '?'}\t${record?.callback.lastError ?? ''}`,
        );
      }
      return 0;
    }
    case 'skus:dead': {
      if (!deps.skuBuffer) throw new UsageError('skus:dead needs the sku buffer');
      const batches = await deps.skuBuffer.deadLetters();
      if (batches.length === 0) out('no dead sku batches');
      for (const b of batches) {
        out(`${b.batchId}\t${iso(b.at)}\t${b.reason}\t${b.entries.map((e) => e.skuCode).join(',')}`);
      }
      return 0;
    }
    case 'skus:replay': {
      const batchId = args[0];
      if (!batchId) throw new UsageError('skus:replay needs a batch id (see skus:dead)');
      if (!deps.skuBuffer) throw new UsageError('skus:replay needs the sku buffer');
      const batch = (await deps.skuBuffer.deadLetters(DEAD_BATCHES_SCANNED)).find(
        (b) => b.batchId === batchId,
      );
      if (!batch) {
        out(`no dead sku batch ${batchId}`);
        return 1;
      }
      // straight into the buffer at the dead entries' own versions, not as a new sku.upsert job:
      // a new job would carry a new (higher) version and overwrite what was synced since
      const { replayed, skipped } = await deps.skuBuffer.replay(batch.entries);
      out(
        `batch ${batchId}: ${replayed.length} skus back in the buffer at their own versions` +
          (replayed.length > 0 ? ` (${replayed.join(',')}); a worker with the sync role sends them` : ''),
      );
      if (skipped.length > 0) {
        out(`skipped ${skipped.length}, a newer change was accepted since: ${skipped.join(',')}`);
      }
      return 0;
    }
    case 'keys:create': {
      const [system, jobs] = args;
      if (!system || !jobs)
        throw new UsageError('keys:create needs a system name and its jobs (comma-separated)');
      const { key, record } = await deps.keys.create(system, jobs.split(',').filter(Boolean));
      out(`key ${record.id} for ${record.system} (jobs: ${record.jobs.join(', ')}); it is shown only now:`);
      out(key);
      return 0;
    }
    case 'keys:list': {
      const list = await deps.keys.list();
      if (list.length === 0) out('no API keys');
      for (const k of list)
        out(`${k.id}\t${k.system}\t${k.jobs.join(',')}\t${new Date(k.createdAt).toISOString()}`);
      return 0;
    }
    case 'keys:revoke': {
      const target = args[0];
      if (!target) throw new UsageError('keys:revoke needs a key id or a system name');
      const revoked = await deps.keys.revoke(target);
      if (revoked.length === 0) {
        out(`no key with id or system "${target}"`);
        return 1;
      }
      for (const k of revoked) out(`revoked ${k.id} (${k.system})`);
      return 0;
    }
    default:
      throw new UsageError(command ? `unknown command "${command}"` : 'name a command');
  }
}
