import { randomBytes } from 'node:crypto';

export interface TokenAuthorityOptions {
  lifetimeMs: number;
  overlapMs: number;
  dailyQuota: number;
}

export type IssueResult =
  | { ok: true; accessToken: string; expireTime: number }
  | { ok: false; fetchesToday: number };

interface Live {
  token: string;
  until: number;
}

/**
 * owitho's side of the access token: a fetch issues a new token and leaves the previous one
 * valid for the overlap; any older token dies; fetches are counted per UTC day.
 */
export class TokenAuthority {
  private current?: Live;
  private previous?: Live;
  private readonly fetchesByDay = new Map<string, number>();
  private total = 0;

  constructor(private readonly options: TokenAuthorityOptions) {}

  private static day(now: number): string {
    return new Date(now).toISOString().slice(0, 10);
  }

  fetchesToday(now: number): number {
    return this.fetchesByDay.get(TokenAuthority.day(now)) ?? 0;
  }

  totalFetches(): number {
    return this.total;
  }

  issue(now: number): IssueResult {
    const day = TokenAuthority.day(now);
    const used = this.fetchesByDay.get(day) ?? 0;
    if (used >= this.options.dailyQuota) return { ok: false, fetchesToday: used };
    this.fetchesByDay.set(day, used + 1);
    this.total++;
    if (this.current && this.current.until > now) {
      this.previous = {
        token: this.current.token,
        until: Math.min(this.current.until, now + this.options.overlapMs),
      };
    } else {
      this.previous = undefined;
    }
    const token = randomBytes(32).toString('hex');
    this.current = { token, until: now + this.options.lifetimeMs };
    return { ok: true, accessToken: token, expireTime: this.current.until };
  }

  /** Tokens honoured at `now`: the current one, then the previous one inside its overlap. */
  live(now: number): string[] {
    const tokens: string[] = [];
    if (this.current && this.current.until > now) tokens.push(this.current.token);
    if (this.previous && this.previous.until > now) tokens.push(this.previous.token);
    return tokens;
  }

  /** Kills every live token: the next signed call fails 40002 until a new fetch. */
  revoke(): void {
    this.current = undefined;
    this.previous = undefined;
  }

  reset(): void {
    this.revoke();
    this.fetchesByDay.clear();
    this.total = 0;
  }
}
