import { orderNoticeSchema } from '@owc/protocol';
import { z } from 'zod';

/** Faults the simulator injects; each may be limited to one path (e.g. "/order/callback"). */
export const faultsSchema = z.strictObject({
  /** delay before answering, ms */
  latencyMs: z.int().min(0).max(600_000).optional(),
  /** share of requests answered HTTP 500 */
  errorRate: z.number().min(0).max(1).optional(),
  /** answer HTTP 503 to every request */
  status503: z.boolean().optional(),
  /** never answer (until the simulator closes) */
  hang: z.boolean().optional(),
  /** answer 50002 "order callback failed" to callbacks */
  callbackCode50002: z.boolean().optional(),
  /** the simulator's clock runs this far ahead (negative: behind) */
  clockSkewMs: z.int().min(-86_400_000).max(86_400_000).optional(),
  /** limit the request faults to this path */
  path: z.string().startsWith('/').optional(),
});
export type Faults = z.infer<typeof faultsSchema>;
/** The name the public contract uses for `Faults`. */
export type FaultSettings = Faults;

/** `POST /_sim/orders` with `{orders: [OrderNotice…]}`: push these exact notices. */
export const pushNoticesSchema = z.strictObject({
  orders: z.array(orderNoticeSchema).min(1).max(10_000),
});

/** `POST /_sim/orders` with `{generate: n, …}`: generate n orders and push them. */
export const pushGeneratedSchema = z.strictObject({
  generate: z.int().min(1).max(100_000),
  machineCode: z.string().min(1).optional(),
  unpaid: z.boolean().optional(),
});

export const streamSchema = z.strictObject({
  ratePerSec: z.number().positive().max(10_000),
  machineCode: z.string().min(1).optional(),
  unpaid: z.boolean().optional(),
});

/** `POST /_sim/raw`: sign and send any payload (or an exact data string) to one of the third party's calls. */
export const rawPushSchema = z
  .object({
    path: z.enum(['/order/notice', '/order/query', '/machine/query']),
    payload: z.unknown().optional(),
    data: z.string().optional(),
  })
  .refine((body) => (body.payload === undefined) !== (body.data === undefined), {
    message: 'give exactly one of payload (any JSON) or data (the exact string to sign)',
    path: ['payload'],
  });
