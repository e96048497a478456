import { redisTest } from '@owc/testing';
import { describe, expect } from 'vitest';
import { SignatureFailureWatch } from './signature-failure-watch.js';

const SETTINGS = { quietMs: 15_000, baseIntervalMs: 60_000, maxIntervalMs: 3_600_000 };

function make(
  redis: ConstructorParameters<typeof SignatureFailureWatch>[0]['redis'],
  prefix: string,
  clock: { now: number },
) {
  const requests: string[] = [];
  const w = new SignatureFailureWatch({
    redis,
    keyPrefix: prefix,
    keeper: {
      requestRefresh: async (token) => {
        requests.push(token);
      },
    },
    ...SETTINGS,
    now: () => clock.now,
  });
  return { w, requests };
}

describe('SignatureFailureWatch', () => {
  redisTest(
    'forged traffic alone for a day, on 2 pods: a few dozen verification refreshes at most',
    async ({ redis, prefix }) => {
      const clock = { now: Date.UTC(2026, 0, 5) };
      const pods = [make(redis, prefix, clock), make(redis, prefix, clock)];
      const day = 24 * 3600_000;
      const start = clock.now;
      for (let i = 0; clock.now - start < day; i++) {
        await pods[i % 2]?.w.failed(['ours']);
        clock.now += 30_000;
      }
      const total = (pods[0]?.requests.length ?? 0) + (pods[1]?.requests.length ?? 0);
      expect(total).toBeGreaterThan(0);
      expect(total).toBeLessThanOrEqual(36);
    },
  );

  redisTest(
    'real traffic that verified until the token moved: a refresh is asked for once the quiet window passes, and only one',
    async ({ redis, prefix }) => {
      const clock = { now: Date.UTC(2026, 0, 5) };
      const { w, requests } = make(redis, prefix, clock);
      // forged noise earlier in the day has lengthened the wait…
      for (let i = 0; i < 6; i++) {
        await w.failed(['ours']);
        clock.now += 2 * 3600_000;
      }
      const before = requests.length;
      // …then real traffic verifies (resetting it), and owitho's token moves at t0
      w.verified();
      await expect.poll(async () => redis.hget(`${prefix}:{token}:verify`, 'granted')).toBe('0');
      const t0 = clock.now;
      const verdicts: string[] = [];
      for (let t = 0; t <= 60_000; t += 1000) {
        clock.now = t0 + t;
        verdicts.push(await w.failed(['ours']));
      }
      expect(requests.length).toBe(before + 1);
      const askedAt = verdicts.indexOf('requested') * 1000;
      expect(askedAt).toBeGreaterThanOrEqual(SETTINGS.quietMs);
      expect(askedAt).toBeLessThan(SETTINGS.quietMs + 2000);
      expect(requests.at(-1)).toBe('ours');
    },
  );
});
