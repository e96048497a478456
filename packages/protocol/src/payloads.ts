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
import { moneyInSchema, moneySchema } from './money.js';

// Characters an identifier may not carry: C0/C1 control characters (they break logs and
// line-based tools) and the braces that delimit a Redis Cluster hash tag in our keys
// (`prefix:{machine:<code>}:snapshot`: a `}` in the code would end the tag early).
// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are the point
const FORBIDDEN_IN_ID = /[\u0000-\u001f\u007f-\u009f{}]/;
// a high surrogate not followed by a low one, or a low one not preceded by a high one
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * An identifier owitho or a gateway gives us (orderViewId, machineCode, containerCode,
 * skuCode, slotNum…), which becomes part of Redis keys and BullMQ job ids: well-formed Unicode
 * (no lone surrogates: Redis would store them as replacement characters and the key we read
 * back would not be the key we wrote), no control characters, no `{` or `}`.
 */
export function idSchema(max: number) {
  return z
    .string()
    .min(1)
    .max(max)
    .refine((value) => !LONE_SURROGATE.test(value), {
      message: 'must be well-formed Unicode (a lone surrogate cannot be stored)',
      abort: true,
    })
    .refine((value) => !FORBIDDEN_IN_ID.test(value), {
      message: 'must not contain control characters or { }',
    });
}

const code = idSchema(128);
const slotNum = idSchema(32);
const epochMs = z.int().min(0);
const count = z.int().min(0);

/**
 * The payload schemas, built over one money schema: read with the tolerant reader
 * (`moneyInSchema`: "2", 2.5, "2.50" → "2.50") everything that comes in, and check with the
 * strict one (`moneySchema`: exactly two decimals) what we send.
 */
function catalogueSchemas<M extends z.ZodType<string>>(money: M) {
  /** call 1, an entry of `skuList` */
  const sku = z.object({
    skuCode: code,
    skuName: z.string().min(1).max(256),
    skuUnit: z.string().min(1).max(32),
    skuSpec: z.string().min(1).max(128),
    originalPrice: money,
    purchasePrice: money.optional(),
    skuPic: z.url().max(2048),
  });
  /** an entry of `slotList` in calls 2 and 3 */
  const slot = z.object({
    slotNum,
    row: z.int().min(0),
    col: z.int().min(0),
    skuCode: code,
    skuName: z.string().min(1).max(256),
    skuDesc: z.string().max(1024).optional(),
    originalPrice: money,
    actualPrice: money,
    maxInventory: count,
    currentInventory: count,
    slotStatus: slotStatusSchema,
  });
  /** call 2 `machine/sync` payload, and the answer of call 3 `machine/query` */
  const layout = z.object({
    machineCode: code,
    containerCode: code.optional(),
    machineStatus: machineStatusSchema,
    slotList: z.array(slot),
  });
  return { sku, skuSync: z.object({ skuList: z.array(sku).min(1) }), slot, layout };
}

const reading = catalogueSchemas(moneyInSchema);
const sending = catalogueSchemas(moneySchema);

/** call 1, an entry of `skuList`, as we read it (ERP jobs); amounts come out as wire money */
export const skuSchema = reading.sku;
export type Sku = z.infer<typeof skuSchema>;
/** call 1, an entry of `skuList`, exactly as we send it */
export const skuOutSchema = sending.sku;

/** call 1 `sku/sync` payload, read tolerantly */
export const skuSyncSchema = reading.skuSync;
export type SkuSync = z.infer<typeof skuSyncSchema>;
/** call 1 `sku/sync` payload, exactly as we send it (two-decimal money) */
export const skuSyncOutSchema = sending.skuSync;

/** an entry of `slotList` in calls 2 and 3, read tolerantly */
export const slotSchema = reading.slot;
export type Slot = z.infer<typeof slotSchema>;

/** call 2 `machine/sync` payload / call 3 answer, read tolerantly (gateway answers, jobs) */
export const machineLayoutSchema = reading.layout;
export type MachineLayout = z.infer<typeof machineLayoutSchema>;
/** call 2 `machine/sync` payload / call 3 answer, exactly as we send it */
export const machineLayoutOutSchema = sending.layout;

/** call 3 request; `containerCode` picks one container of a machine that has several */
export const machineQuerySchema = z.object({
  machineCode: code,
  containerCode: z.union([code, z.literal('')]).nullish(),
});
export type MachineQuery = z.infer<typeof machineQuerySchema>;

/**
 * An entry of `orderDetailList` in call 4; prices are unit prices. How many lines, units per
 * line and units per order are accepted is the receiver's setting (it checks them after parsing).
 */
export const orderDetailSchema = z.object({
  skuCode: code,
  slotNum,
  quantity: z.int().min(1),
  originalPrice: moneyInSchema,
  actualPrice: moneyInSchema,
});
export type OrderDetail = z.infer<typeof orderDetailSchema>;

/**
 * call 4 `order/notice` payload, read tolerantly: any money form owitho may send, payMethod /
 * payStatus / refundStatus open (unknown values kept: only payStatus 1 with refundStatus 0 is
 * dispensed), payCompleteTime missing or null, containerCode empty or missing (the machine's only
 * container).
 */
export const orderNoticeSchema = z.object({
  orderViewId: code,
  machineCode: code,
  containerCode: z.union([code, z.literal('')]).nullish(),
  discountMoney: moneyInSchema,
  originAmount: moneyInSchema,
  actualAmount: moneyInSchema,
  payStatus: payStatusSchema,
  refundStatus: refundStatusSchema,
  orderTime: epochMs,
  payCompleteTime: epochMs.nullish(),
  payMethod: payMethodSchema,
  orderDetailList: z.array(orderDetailSchema).min(1),
});
export type OrderNotice = z.infer<typeof orderNoticeSchema>;

/** The container a notice names, or undefined when it names none (missing, null or ""). */
export function noticeContainer(notice: Pick<OrderNotice, 'containerCode'>): string | undefined {
  return notice.containerCode ? notice.containerCode : undefined;
}

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
