/** What a job gets when its turn on a machine comes (`H`: the lease hold handed on). */
export type Turn<H> =
  /** this pod's turn on the machine: with the lease handed over by the previous order, or none (take it) */
  | { kind: 'turn'; handed: H | undefined }
  /** the pod is shutting down: the job steps back for another pod instead of waiting */
  | { kind: 'stopping' };

type Waiter<H> = (turn: Turn<H>) => void;

/**
 * The jobs of this pod that want the same machine, in the order they came (a FIFO per
 * machine). Only one of them at a time has the machine's turn and deals with its Redis lease;
 * the others wait here, in-process, using no CPU and no Redis round trip. When the turn's
 * owner is done with the machine it hands its lease hold straight to the next job, so the
 * machine's next order starts as soon as the previous one's last unit is done, with no
 * release, no re-take and no window in which another pod could take the machine in between.
 * Across pods the Redis lease still decides: a turn's owner that cannot take the lease steps
 * back (a delayed job) and passes the turn on.
 */
export class MachineTurns<H> {
  /** a machine is in the map while some job of this pod has its turn; the array holds the waiters */
  private readonly machines = new Map<string, Waiter<H>[]>();
  private stopped = false;

  constructor(stopping?: AbortSignal) {
    if (stopping?.aborted) this.stopped = true;
    // one listener for every waiter: a pod may hold thousands of them
    stopping?.addEventListener('abort', () => this.stopAll(), { once: true });
  }

  /** Resolves when it is this job's turn on the machine (at once when nobody in this pod has it). */
  async wait(machineCode: string): Promise<Turn<H>> {
    if (this.stopped) return { kind: 'stopping' };
    const waiters = this.machines.get(machineCode);
    if (!waiters) {
      this.machines.set(machineCode, []);
      return { kind: 'turn', handed: undefined };
    }
    return new Promise<Turn<H>>((resolve) => {
      waiters.push(resolve);
    });
  }

  /**
   * Hands the turn and the lease hold to the machine's next waiter. False when no job waits
   * (or the pod is stopping): the turn stays with the caller, who releases the lease and
   * then calls `end`.
   */
  handOver(machineCode: string, hold: H): boolean {
    if (this.stopped) return false;
    const next = this.machines.get(machineCode)?.shift();
    if (!next) return false;
    next({ kind: 'turn', handed: hold });
    return true;
  }

  /** Ends the caller's turn without a lease: the next waiter (if any) takes the lease itself. */
  end(machineCode: string): void {
    const next = this.machines.get(machineCode)?.shift();
    if (next) next({ kind: 'turn', handed: undefined });
    else this.machines.delete(machineCode);
  }

  private stopAll(): void {
    this.stopped = true;
    for (const waiters of this.machines.values()) {
      for (const waiter of waiters.splice(0)) waiter({ kind: 'stopping' });
    }
  }
}
