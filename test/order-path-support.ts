import type { OrderStore } from '@owc/order-store';
import type { OrderNotice } from '@owc/protocol';
import type { Producer } from '@owc/queues';
import { dispenseJobId } from '@owc/queues';
import { type AppProcess, spawnApp } from './system-support.js';

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
