import { luaScript, oneOfResult, optionalStringResult, ScriptResultError, stringsResult } from '@owc/redis';

/**
 * The order store's Lua scripts, each in its own file under `../lua/` with a header naming its
 * KEYS, ARGV and answer. Every order script takes the order's keys (KEYS[1] the record, a hash or,
 * once reported, a packed string; then the units hash and/or the timeline list; one hash tag), so it
 * runs atomically per order on one Redis and on a cluster alike; `bookkeeping` and `accepted` take
 * index keys (their own tag).
 */
const file = (name: string) => new URL(`../lua/${name}.lua`, import.meta.url);

export const ACCEPT_OUTCOMES = ['created', 'duplicate', 'conflict'] as const;
export const FINALIZE_OUTCOMES = [
  'final',
  'already',
  'incomplete',
  'mismatch',
  'missing',
  'reported',
] as const;

/** A fixed-length array of strings. */
function pair(raw: unknown): [string, string] {
  const values = stringsResult(raw);
  if (values.length !== 2) throw new ScriptResultError('an array of two strings', raw);
  return [values[0] as string, values[1] as string];
}

/** nil (Lua false): the order is not in the store. */
function optionalPair(raw: unknown): [string, string] | undefined {
  return raw === null || raw === undefined ? undefined : pair(raw);
}

/** {before, after} and, on a report, 'dead' when the order was ever dead-lettered. */
function callbackStates(raw: unknown): { before: string; after: string; everDead: boolean } | undefined {
  if (raw === null || raw === undefined) return undefined;
  const values = stringsResult(raw);
  if (values.length !== 2 && !(values.length === 3 && values[2] === 'dead'))
    throw new ScriptResultError("an array of two strings (and 'dead')", raw);
  return { before: values[0] as string, after: values[1] as string, everDead: values.length === 3 };
}

const acceptOutcome = oneOfResult(ACCEPT_OUTCOMES);
const finalizeOutcome = oneOfResult(FINALIZE_OUTCOMES);

export const ORDER_SCRIPTS = {
  owcAccept: luaScript(file('accept-2'), (raw) => {
    const [outcome, state] = pair(raw);
    return { outcome: acceptOutcome(outcome), state };
  }),
  owcStep: luaScript(file('step-2'), (raw) => {
    const answer = optionalPair(raw);
    return answer && { recorded: answer[0], marked: answer[1] };
  }),
  owcFinalize: luaScript(file('finalize-2'), (raw) => {
    const [outcome, result] = pair(raw);
    return { outcome: finalizeOutcome(outcome), result };
  }),
  owcCallbackState: luaScript(file('callback-state-3'), callbackStates),
  owcRevive: luaScript(file('revive-2'), (raw) => optionalStringResult(raw) === 'final'),
  owcBookkeeping: luaScript(file('bookkeeping-3')),
  owcAccepted: luaScript(file('accepted-n'), (raw) => Number(raw)),
  owcTimelineAppend: luaScript(file('timeline-append-2'), oneOfResult(['list', 'packed'] as const)),
};
