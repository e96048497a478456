import { z } from 'zod';
import { ResultCode } from './codes.js';
import { orderNoticeSchema } from './payloads.js';
import { plainOrderNotice } from './plain-order-notice.js';
import { businessSignature, randomSalt, signaturesEqual } from './signature.js';
import { describeZodError } from './zod-error.js';

/** The envelope we send: `data` is the payload as compact JSON. */
export const envelopeSchema = z.object({
  appId: z.string(),
  salt: z.int(),
  utc: z.int(),
  signatures: z.array(z.string()),
  data: z.string(),
});
export type Envelope = z.infer<typeof envelopeSchema>;

const integerLike = z.union([z.int(), z.string().regex(/^-?\d+$/, { message: 'expected an integer' })]);

// What a receiver tolerates before the checks: salt is only range-checked later (40003), and a
// `signature` string or array is read like `signatures`. Exported for the property test of
// `plainShape` only (not from the package).
export const incomingSchema = z.object({
  appId: z
    .string({ message: 'appId is required and must be a string' })
    .min(1, { message: 'appId is empty' }),
  salt: z.union([z.number(), z.string()], { message: 'salt is required' }),
  utc: integerLike,
  signatures: z.union([z.array(z.string()), z.string().min(1)]).optional(),
  signature: z.union([z.array(z.string()), z.string().min(1)]).optional(),
  data: z.string({ message: 'data is required and must be a JSON string' }),
});

type Incoming = z.infer<typeof incomingSchema>;

function stringsOrString(value: unknown): boolean {
  if (typeof value === 'string') return value.length > 0;
  if (!Array.isArray(value)) return false;
  for (const item of value) if (typeof item !== 'string') return false;
  return true;
}

/**
 * The common envelope, checked without zod: every field of `incomingSchema` present in a form it
 * accepts as is (no field it would refuse or change). Anything else goes through the schema,
 * which accepts or refuses it and names the field; so this only decides how, never whether.
 */
export function plainShape(raw: object): raw is Incoming {
  const e = raw as Record<string, unknown>;
  const { appId, salt, utc, signatures, signature } = e;
  return (
    typeof appId === 'string' &&
    appId.length > 0 &&
    (typeof salt === 'string' || (typeof salt === 'number' && Number.isFinite(salt))) &&
    ((typeof utc === 'number' && Number.isSafeInteger(utc)) ||
      (typeof utc === 'string' && /^-?\d+$/.test(utc))) &&
    (signatures === undefined || stringsOrString(signatures)) &&
    (signature === undefined || stringsOrString(signature)) &&
    typeof e.data === 'string'
  );
}

/** `signatures` then `signature`, each a string or an array of strings. */
function givenSignatures(envelope: Incoming): string[] {
  const { signatures, signature } = envelope;
  if (signature === undefined) return typeof signatures === 'string' ? [signatures] : (signatures ?? []);
  return [signatures ?? [], signature].flat();
}

/**
 * Payload schemas with a reader of their plain form (same output as the schema's, or undefined
 * to let the schema decide): see plain-order-notice.ts.
 */
const PLAIN_READERS = new Map<z.ZodType, (value: unknown) => unknown>([
  [orderNoticeSchema, plainOrderNotice],
]);

export interface Credentials {
  appId: string;
}

export interface SignOptions {
  now?: number;
  salt?: number;
}

/** Signs an already-serialised `data` string once per token (current first, then the previous one). */
export function signData(
  data: string,
  creds: Credentials,
  tokens: readonly string[],
  options: SignOptions = {},
): Envelope {
  if (tokens.length === 0) throw new Error('signData needs at least one access token');
  const salt = options.salt ?? randomSalt();
  const utc = options.now ?? Date.now();
  return {
    appId: creds.appId,
    salt,
    utc,
    signatures: tokens.map((accessToken) =>
      businessSignature({ appId: creds.appId, accessToken, data, salt, utc }),
    ),
    data,
  };
}

/** Serialises the payload as compact JSON and signs it once per token. */
export function signEnvelope(
  payload: unknown,
  creds: Credentials,
  tokens: readonly string[],
  options: SignOptions = {},
): Envelope {
  const data: string | undefined = JSON.stringify(payload);
  if (typeof data !== 'string') throw new TypeError('signEnvelope needs a JSON-serialisable payload');
  return signData(data, creds, tokens, options);
}

export interface OpenOptions {
  appId: string;
  /** Every token honoured right now: the current one and the previous one while its overlap lasts. */
  tokens: readonly string[];
  now: number;
  toleranceMs: number;
}

export type OpenResult<T> =
  | { ok: true; payload: T; data: string }
  | { ok: false; code: Exclude<ResultCode, 200>; msg: string };

function fail(
  code: Exclude<ResultCode, 200>,
  msg: string,
): { ok: false; code: Exclude<ResultCode, 200>; msg: string } {
  return { ok: false, code, msg };
}

/**
 * Runs the receiver's checks in docs/protocol.md's order (shape 40000, appId 40001, salt 40003,
 * utc 40004, signature 40002, payload 40000) and returns the parsed payload or the first
 * failure. Never throws, whatever `body` is.
 */
export function openEnvelope<S extends z.ZodType>(
  body: unknown,
  options: OpenOptions,
  payloadSchema: S,
): OpenResult<z.infer<S>> {
  try {
    return openUnsafe(body, options, payloadSchema);
  } catch {
    return fail(ResultCode.REQUEST_FAILED, 'request failed: unreadable request');
  }
}

function openUnsafe<S extends z.ZodType>(
  body: unknown,
  options: OpenOptions,
  payloadSchema: S,
): OpenResult<z.infer<S>> {
  let raw = body;
  if (typeof raw === 'string') {
    try {
      raw = JSON.parse(raw);
    } catch {
      return fail(ResultCode.REQUEST_FAILED, 'request failed: body is not JSON');
    }
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return fail(ResultCode.REQUEST_FAILED, 'request failed: body must be a JSON object envelope');
  }
  let envelope: Incoming;
  if (plainShape(raw)) {
    envelope = raw;
  } else {
    // zod only when the envelope is not in the plain shape: it names what is wrong
    const shape = incomingSchema.safeParse(raw);
    if (!shape.success)
      return fail(ResultCode.REQUEST_FAILED, `request failed: ${describeZodError(shape.error)}`);
    envelope = shape.data;
  }
  const given = givenSignatures(envelope);
  if (given.length === 0) return fail(ResultCode.REQUEST_FAILED, 'request failed: signatures is required');

  if (envelope.appId !== options.appId) return fail(ResultCode.APPID_NOT_EXIST, 'appid does not exist');

  const salt =
    typeof envelope.salt === 'string' && /^\d+$/.test(envelope.salt) ? Number(envelope.salt) : envelope.salt;
  if (typeof salt !== 'number' || !Number.isInteger(salt) || salt < 1000 || salt > 9999) {
    return fail(ResultCode.SALT_OUT_OF_RANGE, 'salt out of range: expected an integer in 1000-9999');
  }

  const utc = Number(envelope.utc);
  if (!Number.isSafeInteger(utc) || Math.abs(options.now - utc) > options.toleranceMs) {
    return fail(
      ResultCode.UTC_EXPIRED,
      `utc expired: more than ${options.toleranceMs} ms from the receiver's clock`,
    );
  }

  // The signature covers the salt and utc exactly as they travelled.
  const matched = options.tokens.some((accessToken) => {
    const expected = businessSignature({
      appId: envelope.appId,
      accessToken,
      data: envelope.data,
      salt: envelope.salt,
      utc: envelope.utc,
    });
    return given.some((signature) => signaturesEqual(expected, signature));
  });
  if (!matched) return fail(ResultCode.SIGNATURE_FAILED, 'signature verification failed');

  let parsed: unknown;
  try {
    parsed = JSON.parse(envelope.data);
  } catch {
    return fail(ResultCode.REQUEST_FAILED, 'request failed: data is not JSON');
  }
  // the payload's plain form read without zod where a reader exists (the order notice, the hot
  // path); anything else, and every odd form, through the schema
  const plain = PLAIN_READERS.get(payloadSchema)?.(parsed);
  if (plain !== undefined) return { ok: true, payload: plain as z.infer<S>, data: envelope.data };
  const payload = payloadSchema.safeParse(parsed);
  if (!payload.success)
    return fail(ResultCode.REQUEST_FAILED, `request failed: ${describeZodError(payload.error, 'data')}`);
  return { ok: true, payload: payload.data, data: envelope.data };
}
