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
});
