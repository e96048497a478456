import { moneyToCents } from './money.js';
import type { OrderNotice } from './payloads.js';

/** One physical unit of an order: the order's detail lines expanded by quantity, in list order. */
export interface OrderUnit {
  index: number;
  vendId: string;
  skuCode: string;
  slotNum: string;
  originalPriceCents: number;
  actualPriceCents: number;
}

/** The gateway's idempotency key of one unit (docs/gateway.md). */
export function vendIdOf(orderViewId: string, index: number): string {
  return `${orderViewId}-${index}`;
}

/** quantity 3 → 3 units; indexes 0..n-1 are stable for the same notice. */
export function flattenOrder(notice: Pick<OrderNotice, 'orderViewId' | 'orderDetailList'>): OrderUnit[] {
  const units: OrderUnit[] = [];
  for (const line of notice.orderDetailList) {
    for (let q = 0; q < line.quantity; q++) {
      const index = units.length;
      units.push({
        index,
        vendId: vendIdOf(notice.orderViewId, index),
        skuCode: line.skuCode,
        slotNum: line.slotNum,
        originalPriceCents: moneyToCents(line.originalPrice),
        actualPriceCents: moneyToCents(line.actualPrice),
      });
    }
  }
  return units;
}
