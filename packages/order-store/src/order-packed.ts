import { vendIdOf } from '@owc/protocol';
import type { TimelineEvent } from './order-timeline.js';

/**
 * A reported order as it is kept until ORDER_TTL_MS: one string (the record key becomes a string
 * when the order is reported; written by lua/callback-state-3.lua, events after that by
 * lua/timeline-append-2.lua, both with lua/includes/packed.lua):
 *
 *     '2' <fingerprint: 12 chars> US <header fields, US-separated, trailing empty ones left out>
 *     per run of units with the same slot, SKU and failure reason: RS slotNum US skuCode US letters [US reason]
 *     per timeline event: GS <kind><time, base 36, from the previous event (the first from acceptedAt)> [US field]…
 *
 * US, RS, GS are the control characters 0x1f, 0x1e, 0x1d, which no identifier may hold; free texts
 * had theirs turned into spaces. Header: acceptedAt (base 36), machineCode, actualAmount,
 * payMethod/payStatus/refundStatus (three digits, or comma-separated), finalAt (base-36 difference
 * from acceptedAt), reportedAt (from finalAt; from acceptedAt without one), callback attempts, the
 * last failed delivery's time (from acceptedAt) and error, duplicates, conflicts ('' = none),
 * originAmount ('' = actualAmount), discountMoney ('' = 0.00): the usually empty ones last, where
 * they take no byte. (The first form, '1', had both amounts after actualAmount and reportedAt from
 * acceptedAt; it is still read.) Events: `v` vend [unit ('' = the last vend's + 1, the first 0),
 * answer ('' = success, '!' = failed: the unit's reason), vendId ('' = the unit's own)]; `f` final
 * [outStatus ('' = the result's)]; `c` callback [attempt ('' = the last one's + 1), answer ('' = ok:
 * owitho answered 200)]; `r` callback replay [jobId]; `a` accepted. An answer that is itself empty
 * or starts with `!` or `=` is written with `=` first.
 */
export interface PackedOrder {
  /** the first 72 bits of the notice's fingerprint, base64url */
  fingerprint: string;
  acceptedAt: number;
  machineCode: string;
  paid: {
    actualAmount: string;
    originAmount: string;
    discountMoney: string;
    payMethod: number;
    payStatus: number;
    refundStatus: number;
  };
  finalAt?: number;
  reportedAt?: number;
  callbackAttempts: number;
  callbackLastAttemptAt?: number;
  callbackLastError?: string;
  duplicates: number;
  conflicts: number;
  /** [slotNum, skuCode, a letter per unit (S success, F failed), the failed units' reason] */
  lines: [string, string, string, string | undefined][];
  events: TimelineEvent[];
}

const US = '\u001f';
const RS = '\u001e';
const GS = '\u001d';

/** A packed value that cannot be read: the reader says which order and why, and nothing else breaks. */
export class PackedOrderError extends Error {
  constructor(orderViewId: string, problem: string) {
    super(`order ${orderViewId}: its packed record cannot be read (${problem})`);
    this.name = 'PackedOrderError';
  }
}

function fromBase36(text: string | undefined): number {
  if (!text) return 0;
  const negative = text.startsWith('-');
  const n = Number.parseInt(negative ? text.slice(1) : text, 36);
  if (Number.isNaN(n)) throw new Error(`not a base-36 number: ${JSON.stringify(text)}`);
  return negative ? -n : n;
}

function count(text: string | undefined): number {
  if (!text) return 0;
  const n = Number(text);
  if (!Number.isInteger(n)) throw new Error(`not a count: ${JSON.stringify(text)}`);
  return n;
}

/** '' → the usual text, '!' → `bang`, '=…' → what follows, anything else as it is. */
function decoded(field: string | undefined, usual: string, bang?: string): string {
  if (!field) return usual;
  if (field === '!' && bang !== undefined) return bang;
  return field.startsWith('=') ? field.slice(1) : field;
}

function payCodes(field: string): [number, number, number] {
  const parts = field.includes(',') ? field.split(',') : field.split('');
  if (parts.length !== 3) throw new Error(`payMethod/payStatus/refundStatus: ${JSON.stringify(field)}`);
  const [m, s, r] = parts.map((p) => {
    const n = Number(p);
    if (p === '' || !Number.isInteger(n)) throw new Error(`not a code: ${JSON.stringify(p)}`);
    return n;
  });
  return [m as number, s as number, r as number];
}

/** Redis's answer to a hash command on a string: the record is a packed reported order. */
export function isWrongType(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('WRONGTYPE');
}

/** True when a stored record value is a packed reported order. */
export function isPacked(value: string): boolean {
  return (value.startsWith('1') || value.startsWith('2')) && value.charAt(13) === US;
}

/** The header's fields, in the order of each version of the form. */
const HEADERS = {
  '1': [
    'acc',
    'machine',
    'actual',
    'origin',
    'discount',
    'pay',
    'fin',
    'rep',
    'attempts',
    'lastAt',
    'lastError',
    'dups',
    'confl',
  ],
  '2': [
    'acc',
    'machine',
    'actual',
    'pay',
    'fin',
    'rep',
    'attempts',
    'lastAt',
    'lastError',
    'dups',
    'confl',
    'origin',
    'discount',
  ],
} as const;
type HeaderField = (typeof HEADERS)['1'][number];

/** The header, then each RS or GS section with its separator first. */
function sectionsOf(text: string): string[] {
  const sections: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charAt(i);
    if (c === RS || c === GS) {
      sections.push(text.slice(start, i));
      start = i;
    }
  }
  sections.push(text.slice(start));
  return sections;
}

/** Reads a packed order; a value it cannot read throws a PackedOrderError naming the order. */
export function unpackOrder(orderViewId: string, value: string): PackedOrder {
  try {
    return unpack(orderViewId, value);
  } catch (error) {
    throw new PackedOrderError(orderViewId, error instanceof Error ? error.message : String(error));
  }
}

function unpack(orderViewId: string, value: string): PackedOrder {
  if (!isPacked(value)) throw new Error(`unknown format ${JSON.stringify(value.slice(0, 1))}`);
  const sections = sectionsOf(value.slice(14));
  const version = value.charAt(0) === '1' ? '1' : '2';
  const fields = (sections.shift() ?? '').split(US);
  const field = (name: HeaderField) => fields[HEADERS[version].indexOf(name as never)];
  const [acc, machineCode, actual, origin, discount, pay] = [
    field('acc'),
    field('machine'),
    field('actual'),
    field('origin'),
    field('discount'),
    field('pay'),
  ];
  const [fin, rep, attempts, lastAt, lastError, dups, confl] = [
    field('fin'),
    field('rep'),
    field('attempts'),
    field('lastAt'),
    field('lastError'),
    field('dups'),
    field('confl'),
  ];
  if (!acc || !machineCode || actual === undefined || !pay) throw new Error('its header is incomplete');
  const acceptedAt = fromBase36(acc);
  const at = (field: string | undefined) => (field ? acceptedAt + fromBase36(field) : undefined);
  const [payMethod, payStatus, refundStatus] = payCodes(pay);
  const lines: PackedOrder['lines'] = [];
  const eventFields: string[][] = [];
  for (const section of sections) {
    const fields = section.slice(1).split(US);
    if (section.startsWith(RS)) {
      const [slotNum, skuCode, letters, reason] = fields;
      if (!slotNum || !skuCode || !letters || !/^[SF]+$/.test(letters))
        throw new Error(`a unit line is not slot, SKU and S/F letters: ${JSON.stringify(fields)}`);
      lines.push([slotNum, skuCode, letters, reason]);
    } else if (section.startsWith(GS)) {
      eventFields.push(fields);
    }
  }
  return {
    fingerprint: value.slice(1, 13),
    acceptedAt,
    machineCode,
    paid: {
      actualAmount: actual,
      originAmount: origin || actual,
      discountMoney: discount || '0.00',
      payMethod,
      payStatus,
      refundStatus,
    },
    finalAt: at(fin),
    // the second form counts reportedAt from finalAt
    reportedAt: version === '2' && fin && rep ? acceptedAt + fromBase36(fin) + fromBase36(rep) : at(rep),
    callbackAttempts: count(attempts),
    callbackLastAttemptAt: at(lastAt),
    callbackLastError: lastError || undefined,
    duplicates: count(dups),
    conflicts: count(confl),
    lines,
    events: packedEvents(orderViewId, acceptedAt, lines, eventFields),
  };
}

/** outStatus of units' letters: 200 all succeeded, 400 none, 300 some. */
function outStatusOfLetters(letters: string): number {
  if (!letters.includes('F')) return 200;
  return letters.includes('S') ? 300 : 400;
}

function packedEvents(
  orderViewId: string,
  acceptedAt: number,
  lines: PackedOrder['lines'],
  eventFields: string[][],
): TimelineEvent[] {
  const reasons: (string | undefined)[] = [];
  let letters = '';
  for (const [, , unitLetters, reason] of lines) {
    for (const letter of unitLetters) reasons.push(letter === 'F' ? (reason ?? '') : undefined);
    letters += unitLetters;
  }
  const events: TimelineEvent[] = [];
  let at = acceptedAt;
  let vendUnit: number | undefined;
  let attempt = 0;
  for (const [head = '', ...fields] of eventFields) {
    const kind = head.charAt(0);
    // an event whose time cannot be read is left out (the rest still shows)
    const delta = Number.parseInt(head.slice(1), 36);
    if (!/^-?[0-9a-z]+$/.test(head.slice(1)) || Number.isNaN(delta)) continue;
    at += delta;
    switch (kind) {
      case 'v': {
        const unit = fields[0] ? Number(fields[0]) : vendUnit === undefined ? 0 : vendUnit + 1;
        if (!Number.isInteger(unit)) continue;
        vendUnit = unit;
        const reason = reasons[unit];
        events.push({
          e: 'vend',
          at,
          unit,
          vendId: fields[2] || vendIdOf(orderViewId, unit),
          answer: decoded(fields[1], 'success', reason === undefined ? undefined : `failed: ${reason}`),
        });
        break;
      }
      case 'f':
        events.push({
          e: 'final',
          at,
          outStatus: fields[0] ? Number(fields[0]) : outStatusOfLetters(letters),
        });
        break;
      case 'c':
        attempt = fields[0] ? Number(fields[0]) : attempt + 1;
        events.push({ e: 'callback', at, attempt, answer: decoded(fields[1], 'ok: owitho answered 200') });
        break;
      case 'r':
        events.push({ e: 'callback-replay', at, jobId: fields[0] ?? '' });
        break;
      case 'a':
        events.push({ e: 'accepted', at });
        break;
    }
  }
  return events;
}
