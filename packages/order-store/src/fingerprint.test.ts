import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, fingerprint } from './fingerprint.js';

// Stored records keep the fingerprint of their notice: a re-push is told from a conflict by it,
// so the same notice must hash the same across releases.
describe('fingerprint', () => {
  const notice = {
    orderViewId: 'OV-1',
    machineCode: 'M-1',
    containerCode: undefined,
    orderDetailList: [{ slotNum: '1', skuCode: 'S', quantity: 2, actualPrice: '1.50' }],
    payStatus: 1,
    discountMoney: '0.00',
    note: null,
    tags: ['b', 'a'],
  };

  it('keys sorted at every level, undefined left out, arrays in order', () => {
    expect(canonicalJson(notice)).toBe(
      '{"discountMoney":"0.00","machineCode":"M-1","note":null,"orderDetailList":[{"actualPrice":"1.50","quantity":2,"skuCode":"S","slotNum":"1"}],"orderViewId":"OV-1","payStatus":1,"tags":["b","a"]}',
    );
    expect(canonicalJson({ é: 1, Z: 2, a: 3, '': [undefined, 1] })).toBe('{"":[,1],"Z":2,"a":3,"é":1}');
  });

  it('the same notice hashes the same (sha-256 of the canonical JSON, hex), whatever its key order', () => {
    expect(fingerprint(notice)).toBe('d48610cde5610f1671ad028b618410416d38e43342c49edf4136d2f080a4aa08');
    const reordered = Object.fromEntries(Object.entries(notice).reverse());
    expect(fingerprint(reordered)).toBe(fingerprint(notice));
  });

  it('the same text as sorting every object (key lists seen before reused only when identical)', () => {
    // what canonicalJson did before it kept sorted key lists
    const sortingEveryTime = (value: unknown): string => {
      if (Array.isArray(value)) return `[${value.map((v) => sortingEveryTime(v) ?? '').join(',')}]`;
      if (value !== null && typeof value === 'object') {
        const object = value as Record<string, unknown>;
        const parts = Object.keys(object)
          .sort()
          .filter((key) => object[key] !== undefined)
          .map((key) => `${JSON.stringify(key)}:${sortingEveryTime(object[key])}`);
        return `{${parts.join(',')}}`;
      }
      return JSON.stringify(value);
    };
    // few key names, so the same lists (and the same keys in other orders) come back often
    const key = fc.constantFrom('a', 'b', 'c', 'é', 'Z', '', 'orderViewId');
    const tree = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        fc.jsonValue({ maxDepth: 0 }),
        fc.dictionary(key, tie('node'), { maxKeys: 4 }),
        fc.array(tie('node'), { maxLength: 3 }),
      ),
    })).node;
    fc.assert(
      fc.property(tree, (value) => {
        expect(canonicalJson(value)).toBe(sortingEveryTime(value));
      }),
      { numRuns: 3000 },
    );
  });
});
