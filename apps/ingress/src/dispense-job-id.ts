/**
 * The BullMQ job id of an order's dispense job. BullMQ refuses custom ids that contain ':' or
 * that are integers ("12345"), and orderViewIds are owitho's codes, so we map them:
 * - '%' → '%25' and ':' → '%3A' (so the mapping stays one-to-one), then
 * - an all-digit result gets the prefix '%N' (which no escaped id can contain).
 * Every other orderViewId (the usual case) is its own job id.
 */
export function dispenseJobId(orderViewId: string): string {
  const escaped = orderViewId.replaceAll('%', '%25').replaceAll(':', '%3A');
  return `${Number.parseInt(escaped, 10)}` === escaped ? `%N${escaped}` : escaped;
}
