import { describe, expect, it } from 'vitest';
import { MachineTurns, type Turn } from './machine-turns.js';

/** Starts waiting and reports the turn once it comes (undefined until then). */
function waitOn(turns: MachineTurns<string>, machineCode: string): { turn(): Turn<string> | undefined } {
  let got: Turn<string> | undefined;
  void turns.wait(machineCode).then((turn) => {
    got = turn;
  });
  return { turn: () => got };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('MachineTurns', () => {
  it('the first job has the turn at once; later ones wait, in the order they came', async () => {
    const turns = new MachineTurns<string>();
    expect(await turns.wait('M1')).toEqual({ kind: 'turn', handed: undefined });
    const second = waitOn(turns, 'M1');
    const third = waitOn(turns, 'M1');
    await settle();
    expect(second.turn()).toBeUndefined();
    expect(turns.handOver('M1', 'hold-1')).toBe(true);
    await settle();
    expect(second.turn()).toEqual({ kind: 'turn', handed: 'hold-1' });
    expect(third.turn()).toBeUndefined();
    turns.end('M1');
    await settle();
    expect(third.turn()).toEqual({ kind: 'turn', handed: undefined });
  });

  it('other machines never wait for this one', async () => {
    const turns = new MachineTurns<string>();
    await turns.wait('M1');
    expect(await turns.wait('M2')).toEqual({ kind: 'turn', handed: undefined });
  });

  it('with nobody waiting the hold is not handed over, and ending frees the machine', async () => {
    const turns = new MachineTurns<string>();
    await turns.wait('M1');
    expect(turns.handOver('M1', 'hold-1')).toBe(false);
    turns.end('M1');
    expect(await turns.wait('M1')).toEqual({ kind: 'turn', handed: undefined });
  });

  it('stopping: every waiter steps back, nothing is handed over, no new job waits', async () => {
    const stopping = new AbortController();
    const turns = new MachineTurns<string>(stopping.signal);
    await turns.wait('M1');
    const waiting = [waitOn(turns, 'M1'), waitOn(turns, 'M1')];
    stopping.abort();
    await settle();
    for (const w of waiting) expect(w.turn()).toEqual({ kind: 'stopping' });
    expect(turns.handOver('M1', 'hold-1')).toBe(false);
    expect(await turns.wait('M2')).toEqual({ kind: 'stopping' });
  });
});
