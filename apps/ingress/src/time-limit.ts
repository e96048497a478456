/** Thrown by `withinTime` when the bound passes first. */
export class TimeLimitError extends Error {
  override name = 'TimeLimitError';
}

/** Resolves as `promise` does, or rejects with TimeLimitError after `ms` (the promise keeps running). */
export async function withinTime<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeLimitError(`${what} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
