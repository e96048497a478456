import { z } from 'zod';

// The wire shapes of docs/gateway.md, declared once: the HTTP driver parses answers with them and
// apps/machine-sim parses requests with them.

const code = z.string().min(1).max(128);

/** Why a vend failed (docs/gateway.md). */
export const vendFailureReasons = [
  'slot_empty',
  'slot_fault',
  'sku_mismatch',
  'machine_offline',
  'machine_fault',
  'jammed',
] as const;
export const vendFailureReasonSchema = z.enum(vendFailureReasons);
export type VendFailureReason = z.infer<typeof vendFailureReasonSchema>;

export const vendStatuses = ['success', 'failed', 'pending'] as const;
export const vendStatusSchema = z.enum(vendStatuses);
export type VendStatus = z.infer<typeof vendStatusSchema>;

/** `orderViewId-index` (orderViewId is up to 128 characters): the idempotency key of one unit. */
export const vendIdSchema = z.string().min(1).max(160);

/** `POST /machines/{machineCode}/vends` body: one physical unit. */
export const vendRequestSchema = z.object({
  vendId: vendIdSchema,
  /** absent when the order names no container: the machine's only container vends */
  containerCode: code.optional(),
  slotNum: z.string().min(1).max(32),
  skuCode: code,
});
export type VendRequest = z.infer<typeof vendRequestSchema>;

/**
 * The answer of `POST /machines/{code}/vends` and `GET /vends/{vendId}`. `reason` is required
 * when (and only allowed when) the vend failed.
 */
export const vendAnswerSchema = z
  .object({
    vendId: vendIdSchema,
    status: vendStatusSchema,
    reason: vendFailureReasonSchema.optional(),
    finishedAt: z.int().min(0).optional(),
  })
  .superRefine((answer, ctx) => {
    if (answer.status === 'failed' && answer.reason === undefined) {
      ctx.addIssue({ code: 'custom', path: ['reason'], message: 'a failed vend must name its reason' });
    }
    if (answer.status !== 'failed' && answer.reason !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['reason'], message: `a ${answer.status} vend has no reason` });
    }
  });
export type VendAnswer = z.infer<typeof vendAnswerSchema>;

/** The body of every 4xx answer: `{"error":"unknown_machine"}`, `{"error":"…","field":"slotNum"}`. */
export const gatewayErrorBodySchema = z.looseObject({
  error: z.string().min(1).max(256),
  field: z.string().max(256).optional(),
  message: z.string().max(4096).optional(),
});
export type GatewayErrorBody = z.infer<typeof gatewayErrorBodySchema>;

/** `error` values of docs/gateway.md's 404s. */
export const GatewayErrorCode = {
  UNKNOWN_MACHINE: 'unknown_machine',
  UNKNOWN_VEND: 'unknown_vend',
  INVALID_REQUEST: 'invalid_request',
} as const;
