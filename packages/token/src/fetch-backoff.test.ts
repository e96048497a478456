import { describe, expect, it } from 'vitest';
import { fetchBackoffMs } from './fetch-backoff.js';

const settings = { baseMs: 1000, maxMs: 600_000, jitter: 0.2 };

describe('fetchBackoffMs', () => {
  it('doubles from the base and stops at the cap; jitter only lengthens', () => {
    const low = () => 0;
    const high = () => 1;
    expect([0, 1, 2, 3, 4].map((n) => fetchBackoffMs(n, settings, low))).toEqual([0, 1000, 2000, 4000, 8000]);
    expect(fetchBackoffMs(10, settings, low)).toBe(512_000);
    expect(fetchBackoffMs(11, settings, low)).toBe(600_000);
    expect(fetchBackoffMs(500, settings, low)).toBe(600_000);
    expect(fetchBackoffMs(500, settings, high)).toBe(720_000);
    expect(fetchBackoffMs(1, settings, high)).toBe(1200);
  });
});
