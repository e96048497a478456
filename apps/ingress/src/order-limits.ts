import type { OrderNotice } from '@owc/protocol';
import type { IngressConfig } from './config.js';

export type OrderLimitSettings = Pick<
  IngressConfig,
  'NOTICE_MAX_LINES' | 'NOTICE_MAX_LINE_QUANTITY' | 'NOTICE_MAX_UNITS'
>;

/**
 * The size limits of an order notice are settings, not protocol: owitho publishes none. The
 * first limit the notice breaks, as a message naming the field and the setting, or undefined.
 * Checked before anything expands the order into units.
 */
export function orderLimitBreach(notice: OrderNotice, limits: OrderLimitSettings): string | undefined {
  const lines = notice.orderDetailList;
  if (lines.length > limits.NOTICE_MAX_LINES)
    return `data.orderDetailList: ${lines.length} lines is above NOTICE_MAX_LINES (${limits.NOTICE_MAX_LINES})`;
  let units = 0;
  for (const [i, line] of lines.entries()) {
    if (line.quantity > limits.NOTICE_MAX_LINE_QUANTITY)
      return `data.orderDetailList.${i}.quantity: ${line.quantity} is above NOTICE_MAX_LINE_QUANTITY (${limits.NOTICE_MAX_LINE_QUANTITY})`;
    units += line.quantity;
  }
  if (units > limits.NOTICE_MAX_UNITS)
    return `data.orderDetailList: ${units} units is above NOTICE_MAX_UNITS (${limits.NOTICE_MAX_UNITS})`;
  return undefined;
}
