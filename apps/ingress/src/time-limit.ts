/** Thrown by `withinTime` when the bound passes first. */
export class TimeLimitError extends Error {
  override name = 'TimeLimitError';
}

/** Resolves as `promise` does, or rejects with TimeLimitError after `ms` (the promise keeps running). */
export function withinTime<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new TimeLimitError(`${what} took longer than ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
