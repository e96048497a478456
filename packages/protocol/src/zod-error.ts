import type { z } from 'zod';

type Issue = z.core.$ZodIssue;

/**
 * For a union that matched no branch, the branch that got furthest (its first issue has the
 * longest path) says best what is wrong: `{sku:{skuName:1}}` fails as `sku.skuName`, not as
 * "Invalid input".
 */
function deepest(issue: Issue): Issue {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return issue;
  let best: Issue | undefined;
  for (const branch of issue.errors) {
    const first = branch[0];
    if (!first) continue;
    const candidate = deepest(first);
    if (!best || candidate.path.length > best.path.length) best = candidate;
  }
  return best ? { ...best, path: [...issue.path, ...best.path] } : issue;
}

/** "orderDetailList.0.quantity: Too small: expected number to be >=1" — names the field that failed. */
export function describeZodError(error: z.ZodError, root?: string): string {
  const first = error.issues[0];
  if (!first) return root ?? 'invalid';
  const issue = deepest(first);
  const path = [...(root ? [root] : []), ...issue.path.map(String)].join('.');
  return path ? `${path}: ${issue.message}` : issue.message;
}
