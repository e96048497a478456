import { waitFor } from './wait-for.js';

/**
 * Waits until a key with a time to live has been renewed `renewals` times (its PTTL seen to jump
 * back up) and at least `outlivedMs` have passed: proof that something keeps it alive past its
 * TTL, without a fixed sleep. `pttl` reads the key's time to live (e.g. `() => redis.pttl(key)`).
 */
export async function waitForRenewals(
  pttl: () => Promise<number>,
  options: { renewals: number; outlivedMs: number; intervalMs?: number },
): Promise<void> {
  const since = Date.now();
  let seen = 0;
  let last = await pttl();
  await waitFor(
    async () => {
      const now = await pttl();
      if (now > last) seen++;
      last = now;
      return seen >= options.renewals && Date.now() - since > options.outlivedMs;
    },
    { intervalMs: options.intervalMs ?? 10, what: `${options.renewals} renewals` },
  );
}
