import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitForOptions {
  /** give up after this long (default 20 s) */
  timeoutMs?: number;
  /** pause between two looks (default 20 ms) */
  intervalMs?: number;
  /** what is awaited, for the error */
  what?: string;
}

/**
 * Polls `fn` until it returns something other than `undefined`, `null` or `false`, and returns
 * that; throws, naming `what`, once the deadline passes. The one way tests and benchmarks wait
 * for a condition: never a fixed sleep.
 */
export async function waitFor<T>(
  fn: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  options: WaitForOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.what ?? 'a condition'}`);
    await sleep(options.intervalMs ?? 20);
  }
}
