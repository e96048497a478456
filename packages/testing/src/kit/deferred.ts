/** A promise and the function that settles it, for a test that opens a gate from elsewhere. */
export interface Deferred<T = void> {
  promise: Promise<T>;
  resolve: (value: T) => void;
}

// Node 20 has no Promise.withResolvers (Node 22 does): this is its resolving half
export function deferred<T = void>(): Deferred<T> {
  let resolve: (value: T) => void = () => {};
  const promise = new Promise<T>((settle) => {
    resolve = settle;
  });
  return { promise, resolve };
}
