/**
 * Deterministic job ids per order: a second enqueue with the same id adds nothing while the job
 * exists, which is what makes re-enqueueing after a crash safe. BullMQ refuses custom ids that
 * contain ':' or that are integers, and orderViewIds are owitho's codes, so '%' and ':' are
 * escaped (one-to-one) and an all-digit result gets the prefix '%N' (no escaped id contains it).
 */
function escapeId(orderViewId: string): string {
  return orderViewId.replaceAll('%', '%25').replaceAll(':', '%3A');
}

/** The dispense job of an order (the usual orderViewId is its own job id). */
export function dispenseJobId(orderViewId: string): string {
  const escaped = escapeId(orderViewId);
  return `${Number.parseInt(escaped, 10)}` === escaped ? `%N${escaped}` : escaped;
}

/** The one callback job of an order. */
export function callbackJobId(orderViewId: string): string {
  return `cb-${escapeId(orderViewId)}`;
}

/** A replayed callback is a new job (the dead one stays failed, for the record). */
export function replayCallbackJobId(orderViewId: string, at = Date.now()): string {
  return `cb-${escapeId(orderViewId)}-replay-${at}`;
}

/** What a caller may give as its own job id: short, URL-safe, and never an order's id form. */
export const CUSTOM_JOB_ID_PATTERN = /^[A-Za-z0-9._~-]{1,128}$/;

/**
 * The namespace of job ids chosen by callers: `ext-<given>`. Only public jobs take custom ids,
 * and they live in queues that never carry an order's jobs (dispense, callback); the prefix
 * keeps them apart from our own ids even so, so a caller can never pre-seed a job id an order
 * will use.
 */
export function customJobId(given: string): string {
  return `ext-${given}`;
}
