/**
 * Requests the simulator holds on purpose (the latency and hang faults). Every hold ends on
 * `releaseAll()` (faults changed) or `close()`, so a fault never keeps the server from closing.
 */
export class HeldRequests {
  private readonly waiting = new Set<() => void>();
  private closed = false;

  get isClosed(): boolean {
    return this.closed;
  }

  get size(): number {
    return this.waiting.size;
  }

  /** Resolves after `ms`, or earlier on release/close. */
  sleep(ms: number): Promise<void> {
    if (this.closed || ms <= 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiting.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiting.add(done);
    });
  }

  /** Resolves only on release/close. */
  hold(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        this.waiting.delete(done);
        resolve();
      };
      this.waiting.add(done);
    });
  }

  releaseAll(): void {
    for (const done of [...this.waiting]) done();
  }

  close(): void {
    this.closed = true;
    this.releaseAll();
  }
}
