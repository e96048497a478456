import { setTimeout as sleep } from 'node:timers/promises';
import type { OrderStore } from '@owc/order-store';
import type { MachineLayout, OrderNotice } from '@owc/protocol';
import type { Producer } from '@owc/queues';
import { dispenseJobId } from '@owc/queues';
import { type AppProcess, spawnApp } from './system-support.js';

/** Polls `fn` until it returns something other than undefined/false, or fails after the deadline. */
export async function waitFor<T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  options: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    const value = await fn();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${options.what ?? 'a condition'}`);
    await sleep(options.intervalMs ?? 50);
  }
}

/** A notice for `machine`: `lines` are [slot index, quantity] pairs, priced from the layout. */
export function noticeFor(
  orderViewId: string,
  machine: MachineLayout,
  lines: readonly (readonly [number, number])[],
  overrides: Partial<OrderNotice> = {},
): OrderNotice {
  const orderDetailList = lines.map(([slotIndex, quantity]) => {
    const slot = machine.slotList[slotIndex];
    if (!slot) throw new RangeError(`machine ${machine.machineCode} has no slot #${slotIndex}`);
    return {
      skuCode: slot.skuCode,
      slotNum: slot.slotNum,
      quantity,
      originalPrice: slot.originalPrice,
      actualPrice: slot.actualPrice,
    };
  });
  return {
    orderViewId,
    machineCode: machine.machineCode,
    containerCode: machine.containerCode ?? '01',
    discountMoney: '0.00',
    originAmount: '1.00',
    actualAmount: '1.00',
    payStatus: 1,
    refundStatus: 0,
    orderTime: Date.now() - 1000,
    payCompleteTime: Date.now(),
    payMethod: 2,
    orderDetailList,
    ...overrides,
  };
}

/** What the ingress does on a first notice: the record, the open index, the dispense job. */
export async function acceptOrder(store: OrderStore, producer: Producer, notice: OrderNotice): Promise<void> {
  await store.accept(notice);
  await store.indexAccepted(notice.orderViewId);
  await producer.enqueue(
    'order.dispense',
    { orderViewId: notice.orderViewId, machineCode: notice.machineCode },
    { jobId: dispenseJobId(notice.orderViewId) },
  );
}

/** A worker process (`apps/worker/src/main.ts`) started by a test. */
export type WorkerProcess = AppProcess;

export function spawnWorker(env: Record<string, string>): WorkerProcess {
  return spawnApp('worker', env);
}
