import { describe, expect, it } from 'vitest';
import { callbackDelayMs, callbackJobId, dispenseJobId, replayCallbackJobId } from './callback-jobs.js';

describe('callback jobs', () => {
  it('follows the schedule, the last entry repeating, within ±jitter', () => {
    const schedule = [200, 400, 800];
    expect([1, 2, 3, 4].map((n) => callbackDelayMs(schedule, 0, n))).toEqual([200, 400, 800, 800]);
    expect(callbackDelayMs(schedule, 0.2, 2, () => 0)).toBe(320);
    expect(callbackDelayMs(schedule, 0.2, 2, () => 1)).toBe(480);
    for (let i = 0; i < 200; i++) {
      const d = callbackDelayMs(schedule, 0.2, 3);
      expect(d).toBeGreaterThanOrEqual(640);
      expect(d).toBeLessThanOrEqual(960);
    }
  });

  it('job ids are deterministic and valid for BullMQ (no ":", never an integer)', () => {
    expect(callbackJobId('XBL0001')).toBe('cb-XBL0001');
    expect(callbackJobId('a:b%c')).toBe('cb-a%3Ab%25c');
    expect(dispenseJobId('XBL0001')).toBe('XBL0001');
    expect(dispenseJobId('12345')).toBe('%N12345');
    expect(dispenseJobId('a:1')).toBe('a%3A1');
    expect(replayCallbackJobId('X1', 42)).toBe('cb-X1-replay-42');
  });
});
