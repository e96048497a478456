import { z } from 'zod';
import {
  machineStatusSchema,
  outStatusSchema,
  payMethodSchema,
  payStatusSchema,
  refundStatusSchema,
  slotStatusSchema,
  unitStatusSchema,
} from './dictionaries.js';
import { moneySchema } from './money.js';

const code = z.string().min(1).max(128);
const epochMs = z.int().min(0);
const count = z.int().min(0);

/** call 1, an entry of `skuList` */
export const skuSchema = z.object({
  skuCode: code,
  skuName: z.string().min(1).max(256),
  skuUnit: z.string().min(1).max(32),
  skuSpec: z.string().min(1).max(128),
  originalPrice: moneySchema,
  purchasePrice: moneySchema.optional(),
  skuPic: z.url().max(2048),
});
export type Sku = z.infer<typeof skuSchema>;

/** call 1 `sku/sync` payload */
export const skuSyncSchema = z.object({ skuList: z.array(skuSchema).min(1) });
export type SkuSync = z.infer<typeof skuSyncSchema>;

/** an entry of `slotList` in calls 2 and 3 */
export const slotSchema = z.object({
  slotNum: z.string().min(1).max(32),
  row: z.int().min(0),
  col: z.int().min(0),
  skuCode: code,
  skuName: z.string().min(1).max(256),
  skuDesc: z.string().max(1024).optional(),
  originalPrice: moneySchema,
  actualPrice: moneySchema,
  maxInventory: count,
  currentInventory: count,
  slotStatus: slotStatusSchema,
});
export type Slot = z.infer<typeof slotSchema>;

/** call 2 `machine/sync` payload, and the answer of call 3 `machine/query` */
export const machineLayoutSchema = z.object({
  machineCode: code,
  containerCode: code.optional(),
  machineStatus: machineStatusSchema,
  slotList: z.array(slotSchema),
});
export type MachineLayout = z.infer<typeof machineLayoutSchema>;

/** call 3 request */
export const machineQuerySchema = z.object({ machineCode: code });
export type MachineQuery = z.infer<typeof machineQuerySchema>;

/** an entry of `orderDetailList` in call 4; prices are unit prices */
export const orderDetailSchema = z.object({
  skuCode: code,
  slotNum: z.string().min(1).max(32),
  quantity: z.int().min(1).max(1000),
  originalPrice: moneySchema,
  actualPrice: moneySchema,
});
export type OrderDetail = z.infer<typeof orderDetailSchema>;

/** call 4 `order/notice` payload */
export const orderNoticeSchema = z.object({
  orderViewId: code,
  machineCode: code,
  containerCode: code,
  discountMoney: moneySchema,
  originAmount: moneySchema,
  actualAmount: moneySchema,
  payStatus: payStatusSchema,
  refundStatus: refundStatusSchema,
  orderTime: epochMs,
  payCompleteTime: epochMs,
  payMethod: payMethodSchema,
  orderDetailList: z.array(orderDetailSchema).min(1).max(100),
});
export type OrderNotice = z.infer<typeof orderNoticeSchema>;

/** one unit's line in call 5 / the answer of call 6 */
export const outDetailSchema = z.object({
  slotNum: z.string().min(1).max(32),
  skuCode: code,
  status: unitStatusSchema,
});
export type OutDetail = z.infer<typeof outDetailSchema>;

/** call 5 `order/callback` payload, and the answer of call 6 `order/query` */
export const orderResultSchema = z.object({
  orderViewId: code,
  outStatus: outStatusSchema,
  outDetailList: z.array(outDetailSchema),
});
export type OrderResult = z.infer<typeof orderResultSchema>;

/** call 6 request */
export const orderQuerySchema = z.object({ orderViewId: code });
export type OrderQuery = z.infer<typeof orderQuerySchema>;

/** call 0 answer `data` */
export const accessTokenSchema = z.object({
  accessToken: z.string().min(1).max(4096),
  expireTime: z.int().min(0),
});
export type AccessToken = z.infer<typeof accessTokenSchema>;

/**
 * The absolute expiry of a token answer. docs/protocol.md: a value below 10^11 is a lifetime in ms.
 */
export function absoluteExpiry(token: AccessToken, now: number): number {
  return token.expireTime < 1e11 ? now + token.expireTime : token.expireTime;
}
