/** The daily token fetch quota is used up; no request was made. */
export class TokenQuotaExceededError extends Error {
  override name = 'TokenQuotaExceededError';
  constructor(
    readonly fetchesToday: number,
    readonly quota: number,
  ) {
    super(
      `access token quota reached: ${fetchesToday} of ${quota} fetches used today (UTC); refusing to fetch`,
    );
  }
}
