/** What a call to owitho came to; the queues decide what to do with each kind. */
export type CallOutcome =
  | { kind: 'ok'; code: 200; data?: unknown }
  /** worth trying again later: network error, timeout, 5xx, 40000, 50001, 50002, 40004 */
  | { kind: 'retryable'; reason: string; code?: number; status?: number }
  /** still 40002 after one compare-and-refresh of the token and one retry */
  | { kind: 'token-rejected'; reason: string; code: 40002 }
  /** will not get better by retrying: 40001, 40003, other 4xx, unknown codes */
  | { kind: 'permanent'; reason: string; code?: number; status?: number };

/** Classifies one HTTP exchange (before any token or utc handling). */
export function classifyAnswer(status: number, code: number | undefined, msg: string): CallOutcome {
  const said = (c: number) => `owitho answered ${c}${msg ? ` (${msg.slice(0, 200)})` : ''}`;
  if (status >= 500 || status === 408 || status === 429) {
    return { kind: 'retryable', reason: `HTTP ${status}`, status, ...(code !== undefined ? { code } : {}) };
  }
  if (status !== 200) return { kind: 'permanent', reason: `HTTP ${status}`, status };
  if (code === undefined) return { kind: 'retryable', reason: 'unreadable answer from owitho', status };
  switch (code) {
    case 200:
      return { kind: 'ok', code: 200 };
    case 40000:
    case 40004:
    case 50001:
    case 50002:
      return { kind: 'retryable', reason: said(code), code, status };
    case 40002:
      return { kind: 'token-rejected', reason: said(code), code: 40002 };
    default:
      return { kind: 'permanent', reason: said(code), code, status };
  }
}
