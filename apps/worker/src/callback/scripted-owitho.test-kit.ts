import type { OrderResult } from '@owc/protocol';
import type { CallbackOutcome, CallbackSender } from './callback-delivery.js';

/**
 * owitho's side of order/callback, scripted: answers the given outcomes in turn (the last one
 * repeats), and can hold every answer until released (a hung owitho).
 */
export class ScriptedOwitho implements CallbackSender {
  readonly calls: { at: number; result: OrderResult }[] = [];
  private held: Promise<void> | undefined;

  constructor(public script: CallbackOutcome[]) {}

  async sendOrderCallback(result: OrderResult): Promise<CallbackOutcome> {
    this.calls.push({ at: Date.now(), result: structuredClone(result) });
    await this.held;
    const next = this.script.length > 1 ? this.script.shift() : this.script[0];
    return next ?? { kind: 'ok' };
  }

  /** Holds every answer (those in flight and those to come) until the returned function is called. */
  hold(): () => void {
    let release = () => {};
    this.held = new Promise<void>((resolve) => {
      release = () => {
        this.held = undefined;
        resolve();
      };
    });
    return release;
  }
}
