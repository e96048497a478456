import { describe, expect, it } from 'vitest';
import { callbackDelayMs } from './callback-jobs.js';

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
});
