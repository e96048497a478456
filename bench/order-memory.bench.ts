// Redis memory per finished order (issue 13): ORDERS orders go through the order store's whole
// life, with the writes the ingress and the worker make (accept and its bookkeeping, the search
// index and timeline, `attempted` and the result of every unit, the final result, the callback's
// delivery and `reported`; each order on its own clock, as slow as a real one), on a private
// redis-server. Reported: INFO used_memory after the run
// and its growth per order, MEMORY USAGE of each kind of per-order key (sampled), and the sizing
// per million finished orders. BullMQ's jobs are left out here: completed jobs are trimmed by
// count (10,000 per queue, the catalog's removeOnComplete), so they are a constant, not a cost per
// order; bench/order-path.bench.ts measures them on the real path.
import { generateFleet } from '@owc/sim-fleet';
import { Redis } from 'ioredis';
import { lifeOfAnOrder, orderMemory } from './lib/order-memory.js';
import { noticeFor } from './lib/orders.js';
import { commandDelta, startPrivateRedis } from './lib/private-redis.js';
import { report, round } from './lib/report.js';
import { envNumber, machineLoad } from './lib/system.js';

const ORDERS = envNumber('BENCH_ORDER_MEMORY_ORDERS', 10_000);
/** 0: ids `MEM<n>` (4–7 characters); else ids of that many characters shaped like the guide's sample (`XBL000…<n>`) */
const ID_WIDTH = envNumber('BENCH_ORDER_MEMORY_ID_WIDTH', 0);
const orderId = (n: number) => (ID_WIDTH > 0 ? `XBL${String(n).padStart(ID_WIDTH - 3, '0')}` : `MEM${n}`);
/** orders in flight at once (each is a few round trips) */
const CONCURRENCY = 100;
const TARGET_BYTES = 300;

const layouts = generateFleet({ machines: 200, slotsPerMachine: 12, inventory: 100_000 }).machines;
const redisServer = await startPrivateRedis();
const redis = new Redis(redisServer.url);
try {
  const prefix = 'bench-om';
  const life = lifeOfAnOrder(redis, prefix);
  // one order first, so the indexes and counters exist and scripts are loaded before the baseline
  const layoutOf = (i: number) => layouts[i % layouts.length] as (typeof layouts)[number];
  await life(noticeFor('warm', layoutOf(0), 0));
  const before = await redisServer.usedMemory();
  const callsBefore = await redisServer.commandCalls();
  const started = Date.now();
  const ids: string[] = [];
  for (let i = 0; i < ORDERS; i += CONCURRENCY) {
    const batch = Array.from({ length: Math.min(CONCURRENCY, ORDERS - i) }, (_, k) => {
      const n = i + k;
      const notice = noticeFor(orderId(n), layoutOf(n), n);
      ids.push(notice.orderViewId);
      return life(notice);
    });
    await Promise.all(batch);
  }
  const seconds = (Date.now() - started) / 1000;
  const after = await redisServer.usedMemory();
  const commands = commandDelta(callsBefore, await redisServer.commandCalls());
  const keys = await orderMemory(redis, prefix, ids, 500);
  const perOrder = round((after - before) / ORDERS, 0);
  report('order-memory', {
    layout: 'the order store and timeline, driven with the writes of the real path; a private redis-server',
    orders: ORDERS,
    idExample: orderId(ORDERS - 1),
    seconds: round(seconds, 1),
    usedMemoryBytes: { before, after },
    usedMemoryMbAfter: round(after / 1024 / 1024, 2),
    bytesPerFinishedOrder: perOrder,
    keysPerOrder: keys,
    // the store's life of an order (not BullMQ's): Lua-internal calls included
    commandsPerOrder: round(commands.total / ORDERS, 1),
    perMillionOrdersMb: round((perOrder * 1_000_000) / 1024 / 1024, 0),
    target: TARGET_BYTES,
    ratio: round(TARGET_BYTES / perOrder, 3),
    summary: `${perOrder} B per finished order (used_memory), ${keys.total} B by MEMORY USAGE of its keys; ${round(after / 1024 / 1024, 1)} MB after ${ORDERS} orders`,
    loadAverage1m: machineLoad(),
  });
} finally {
  redis.disconnect();
  await redisServer.stop();
}
process.exit(0);
