import { isWireMoney } from './money.js';
import type { OrderDetail, OrderNotice } from './payloads.js';

// An identifier in its plain form: printable ASCII without `{` `}`, which idSchema accepts as is
// (no control character, no brace, no surrogate; its length counted in characters).
const PLAIN_ID_128 = /^[\x20-\x7a|~]{1,128}$/;
const PLAIN_ID_32 = /^[\x20-\x7a|~]{1,32}$/;

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);
const id128 = (value: unknown): value is string => typeof value === 'string' && PLAIN_ID_128.test(value);
const isInt = (value: unknown): value is number => Number.isSafeInteger(value);
const atLeast = (value: unknown, min: number): value is number => isInt(value) && value >= min;

function plainDetail(value: unknown): OrderDetail | undefined {
  if (!isObject(value)) return undefined;
  const { skuCode, slotNum, quantity, originalPrice, actualPrice } = value;
  if (
    !id128(skuCode) ||
    typeof slotNum !== 'string' ||
    !PLAIN_ID_32.test(slotNum) ||
    !atLeast(quantity, 1) ||
    !isWireMoney(originalPrice) ||
    !isWireMoney(actualPrice)
  )
    return undefined;
  return { skuCode, slotNum, quantity, originalPrice, actualPrice };
}

/**
 * The order notice in its plain form, read without zod: every field in a form `orderNoticeSchema`
 * accepts unchanged (ids in printable ASCII, money already wire money, integers), built as the
 * schema builds it (its keys in the schema's order, unknown keys dropped). Anything else —
 * money as a number or without two decimals, ids with other characters, a wrong or missing
 * field — is undefined, and the schema reads it (accepts or refuses it and names the field): this
 * decides how a notice is read, never whether. `value` comes from JSON.parse (no undefined).
 */
export function plainOrderNotice(value: unknown): OrderNotice | undefined {
  if (!isObject(value)) return undefined;
  const n = value;
  const { orderViewId, machineCode, containerCode, discountMoney, originAmount, actualAmount } = n;
  const { payStatus, refundStatus, orderTime, payCompleteTime, payMethod, orderDetailList } = n;
  if (
    !id128(orderViewId) ||
    !id128(machineCode) ||
    !(
      containerCode === undefined ||
      containerCode === null ||
      containerCode === '' ||
      id128(containerCode)
    ) ||
    !isWireMoney(discountMoney) ||
    !isWireMoney(originAmount) ||
    !isWireMoney(actualAmount) ||
    !isInt(payStatus) ||
    !isInt(refundStatus) ||
    !atLeast(orderTime, 0) ||
    !(payCompleteTime === undefined || payCompleteTime === null || atLeast(payCompleteTime, 0)) ||
    !isInt(payMethod) ||
    !Array.isArray(orderDetailList) ||
    orderDetailList.length === 0
  )
    return undefined;
  const lines: OrderDetail[] = [];
  for (const line of orderDetailList) {
    const detail = plainDetail(line);
    if (!detail) return undefined;
    lines.push(detail);
  }
  const notice: OrderNotice = { orderViewId, machineCode } as OrderNotice;
  if (containerCode !== undefined) notice.containerCode = containerCode;
  notice.discountMoney = discountMoney;
  notice.originAmount = originAmount;
  notice.actualAmount = actualAmount;
  notice.payStatus = payStatus;
  notice.refundStatus = refundStatus;
  notice.orderTime = orderTime;
  if (payCompleteTime !== undefined) notice.payCompleteTime = payCompleteTime;
  notice.payMethod = payMethod;
  notice.orderDetailList = lines;
  return notice;
}
