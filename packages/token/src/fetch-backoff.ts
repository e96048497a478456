/** How long to wait after failed token fetches (TOKEN_FETCH_BACKOFF_*). */
export interface FetchBackoffSettings {
  /** the wait after the first failure */
  baseMs: number;
  /** the doubling stops here: once reached, the shortest wait between two attempts */
  maxMs: number;
  /** up to this share is added on top, at random, so pods and deployments do not beat in step */
  jitter: number;
}

/**
 * The cooldown after `failures` consecutive failed fetches: base·2^(failures−1), capped at max,
 * plus up to `jitter` of it on top. Jitter only lengthens a wait, so the cap is also the floor of
 * the steady state (with the defaults: at most one attempt per 10 minutes once capped).
 */
export function fetchBackoffMs(
  failures: number,
  settings: FetchBackoffSettings,
  random: () => number = Math.random,
): number {
  if (failures <= 0) return 0;
  const doubled = settings.baseMs * 2 ** Math.min(failures - 1, 52);
  const wait = Math.min(settings.maxMs, doubled);
  return Math.round(wait * (1 + settings.jitter * random()));
}
