import { describe, expect, it } from 'vitest';
import { clusterSeeds } from './connection.js';
import { hashTagOf, taggedKey } from './keys.js';

describe('keys', () => {
  it('puts the tag in braces after the prefix', () => {
    expect(taggedKey('owc', 'order:A1', 'units')).toBe('owc:{order:A1}:units');
    expect(hashTagOf('owc:{order:A1}:units')).toBe('order:A1');
    expect(hashTagOf('plain')).toBe('plain');
    expect(hashTagOf('a{}b')).toBe('a{}b');
  });
  it('reads cluster seeds from the nodes list or a redis+cluster URL', () => {
    expect(clusterSeeds({ url: 'redis://x:1' })).toEqual([]);
    expect(clusterSeeds({ url: 'redis+cluster://127.0.0.1:7000,127.0.0.1:7001' })).toEqual([
      { host: '127.0.0.1', port: 7000 },
      { host: '127.0.0.1', port: 7001 },
    ]);
    expect(clusterSeeds({ url: 'redis://x', clusterNodes: ['h:7002'] })).toEqual([{ host: 'h', port: 7002 }]);
  });
});
