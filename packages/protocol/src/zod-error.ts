import type { z } from 'zod';

/** "orderDetailList.0.quantity: Too small: expected number to be >=1" — names the field that failed. */
export function describeZodError(error: z.ZodError, root?: string): string {
  const issue = error.issues[0];
  if (!issue) return root ?? 'invalid';
  const path = [...(root ? [root] : []), ...issue.path.map(String)].join('.');
  return path ? `${path}: ${issue.message}` : issue.message;
}
