import type { Sku } from '@owc/protocol';

/** A valid SKU (sku/sync); `rev` goes into the price and the name so every write is distinguishable. */
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
