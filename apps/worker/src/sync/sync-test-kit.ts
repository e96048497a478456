import { setTimeout as sleep } from 'node:timers/promises';
import type { Sku } from '@owc/protocol';

/** Polls `fn` until it returns something other than undefined/false, or fails after the deadline. */
export async function waitFor<T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  options: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  for (;;) {
    const value = await fn();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${options.what ?? 'a condition'}`);
    await sleep(options.intervalMs ?? 20);
  }
}

/** A valid SKU; `rev` goes into the price and the name so every write is distinguishable. */
export function skuOf(i: number, rev = 0): Sku {
  return {
    skuCode: `SKU${String(i).padStart(5, '0')}`,
    skuName: `Product ${i} rev ${rev}`,
    skuUnit: '罐',
    skuSpec: '250ml',
    originalPrice: `${1 + (i % 50)}.${String(rev % 100).padStart(2, '0')}`,
    skuPic: `https://img.example.com/sku/${i}.png`,
  };
}
