/**
 * A pod's shutdown as something work can stop waiting on: `race` gives a promise's value, or
 * `undefined` as soon as the pod is stopping. The promise itself runs on, and how it ends after
 * that is its own business (the race never rejects for it). One abort listener for every waiter,
 * however many jobs wait (a listener each would be thousands on one signal).
 */
export class StopRace {
  private readonly waiting = new Set<() => void>();

  constructor(private readonly signal?: AbortSignal) {
    signal?.addEventListener(
      'abort',
      () => {
        for (const stop of this.waiting) stop();
        this.waiting.clear();
      },
      { once: true },
    );
  }

  get stopping(): boolean {
    return this.signal?.aborted ?? false;
  }

  race<T>(promise: Promise<T>): Promise<T | undefined> {
    if (!this.signal) return promise;
    if (this.signal.aborted) {
      promise.catch(() => undefined);
      return Promise.resolve(undefined);
    }
    return new Promise<T | undefined>((resolve, reject) => {
      const stop = () => resolve(undefined);
      this.waiting.add(stop);
      promise.then(resolve, reject).finally(() => this.waiting.delete(stop));
    });
  }
}
