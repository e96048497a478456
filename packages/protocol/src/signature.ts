import { hash, timingSafeEqual } from 'node:crypto';

/** One-shot md5 of the UTF-8 bytes, lower-case hex (no Hash object per call). */
function md5Hex(text: string): string {
  return hash('md5', text, 'hex');
}

/** call 0: md5("appId=…&salt=…&utc=…&secretKey=…"), lower-case hex. */
export function tokenSignature(input: {
  appId: string;
  salt: number | string;
  utc: number | string;
  secretKey: string;
}): string {
  return md5Hex(`appId=${input.appId}&salt=${input.salt}&utc=${input.utc}&secretKey=${input.secretKey}`);
}

/** calls 1–6: md5("appId=…&accessToken=…&data=…&salt=…&utc=…") over the exact `data` string. */
export function businessSignature(input: {
  appId: string;
  accessToken: string;
  data: string;
  salt: number | string;
  utc: number | string;
}): string {
  return md5Hex(
    `appId=${input.appId}&accessToken=${input.accessToken}&data=${input.data}&salt=${input.salt}&utc=${input.utc}`,
  );
}

/** Constant-time, case-insensitive comparison of two hex signatures. */
export function signaturesEqual(expected: string, given: string): boolean {
  // lengths first: nothing to copy for a signature of another length (md5 hex is 32 characters)
  if (expected.length !== given.length) return false;
  const a = Buffer.from(expected.toLowerCase(), 'utf8');
  const b = Buffer.from(given.toLowerCase(), 'utf8');
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}

/** A random salt in 1000–9999. */
export function randomSalt(): number {
  return 1000 + Math.floor(Math.random() * 9000);
}
