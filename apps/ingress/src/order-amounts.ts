import { moneyToCents, type OrderNotice } from '@owc/protocol';

export type AmountMismatch = 'lines' | 'discount';

/**
 * The amount checks docs/protocol.md asks us to log and count (never a reason to refuse a paid order):
 * - `lines`: Σ quantity × actualPrice ≠ actualAmount
 * - `discount`: originAmount − discountMoney ≠ actualAmount
 * Integer cents throughout.
 */
export function amountMismatches(notice: OrderNotice): AmountMismatch[] {
  const actual = moneyToCents(notice.actualAmount);
  const lines = notice.orderDetailList.reduce(
    (sum, line) => sum + line.quantity * moneyToCents(line.actualPrice),
    0,
  );
  const mismatches: AmountMismatch[] = [];
  if (lines !== actual) mismatches.push('lines');
  if (moneyToCents(notice.originAmount) - moneyToCents(notice.discountMoney) !== actual)
    mismatches.push('discount');
  return mismatches;
}
