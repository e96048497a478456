import { z } from 'zod';
import { ResultCode, resultMessages } from './codes.js';

/** `{code,msg,data}` as we answer it: code is always an int. */
export interface Answer<T = unknown> {
  code: number;
  msg: string;
  data?: T;
}

export function okAnswer<T>(data?: T): Answer<T> {
  return data === undefined
    ? { code: ResultCode.OK, msg: resultMessages[200] }
    : { code: ResultCode.OK, msg: resultMessages[200], data };
}

export function errorAnswer(code: number, msg: string): Answer<never> {
  return { code, msg };
}

/** Reading owitho's answers: `code` may arrive as an int or a numeric string. */
export const answerSchema = z.object({
  code: z.union([
    z.int(),
    z
      .string()
      .regex(/^\s*\d+\s*$/)
      .transform((s) => Number(s.trim())),
  ]),
  // A null or missing msg reads as '' (some serialisers write null fields).
  msg: z
    .string()
    .nullish()
    .transform((m) => m ?? ''),
  data: z.unknown().optional(),
});
export type ReadAnswer = z.infer<typeof answerSchema>;

/** Parses an answer body (string or object); undefined when it is not a protocol answer. */
export function readAnswer(body: unknown): ReadAnswer | undefined {
  let raw = body;
  if (typeof raw === 'string') {
    try {
      raw = JSON.parse(raw);
    } catch {
      return undefined;
    }
  }
  const parsed = answerSchema.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}
