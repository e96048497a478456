import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { businessSignature, signaturesEqual, tokenSignature } from './signature.js';

// Vectors derived by hand from PROTOCOL.md's formulas: the exact string that is hashed is
// written out, and hashed here independently of the code under test.
const md5 = (text: string) => createHash('md5').update(Buffer.from(text, 'utf8')).digest('hex');

describe('signature vectors', () => {
  it('token signature: md5("appId=…&salt=…&utc=…&secretKey=…")', () => {
    const input = 'appId=4cdbc7d1a7&salt=1234&utc=1526697000000&secretKey=s3cr3t';
    expect(tokenSignature({ appId: '4cdbc7d1a7', salt: 1234, utc: 1526697000000, secretKey: 's3cr3t' })).toBe(
      md5(input),
    );
  });

  it('business signature: md5("appId=…&accessToken=…&data=…&salt=…&utc=…") over the exact data string', () => {
    const data = '{"machineCode":"X1"}';
    const input = `appId=app1&accessToken=tok-1&data=${data}&salt=9999&utc=1526697000000`;
    expect(
      businessSignature({ appId: 'app1', accessToken: 'tok-1', data, salt: 9999, utc: 1526697000000 }),
    ).toBe(md5(input));
  });

  it('hashes Chinese data as UTF-8 bytes, with no URL encoding', () => {
    const data = '{"skuList":[{"skuCode":"0000001","skuName":"可口可乐","skuUnit":"罐","skuSpec":"330ml"}]}';
    const input = `appId=app1&accessToken=tok-1&data=${data}&salt=1000&utc=1526697000000`;
    const expected = md5(input);
    expect(
      businessSignature({ appId: 'app1', accessToken: 'tok-1', data, salt: 1000, utc: 1526697000000 }),
    ).toBe(expected);
    // not the hash of a URL-encoded or latin1 rendering
    expect(expected).not.toBe(md5(encodeURIComponent(input)));
    expect(expected).not.toBe(createHash('md5').update(Buffer.from(input, 'latin1')).digest('hex'));
  });

  it('pins literal values', () => {
    // computed outside node (coreutils md5sum over the same bytes)
    expect(tokenSignature({ appId: 'a', salt: 1000, utc: 0, secretKey: 'k' })).toBe(
      'e816090eac9434d2d463159f94f32f40',
    );
    expect(
      businessSignature({
        appId: 'app1',
        accessToken: 'tok-1',
        data: '{"skuUnit":"罐"}',
        salt: 1000,
        utc: 1526697000000,
      }),
    ).toBe('ef30653caa37a8c4380771306b4423d1');
    expect(md5('')).toBe('d41d8cd98f00b204e9800998ecf8427e');
    expect(businessSignature({ appId: '', accessToken: '', data: '', salt: '', utc: '' })).toBe(
      md5('appId=&accessToken=&data=&salt=&utc='),
    );
  });

  it('compares case-insensitively and rejects other lengths', () => {
    const sig = md5('x');
    expect(signaturesEqual(sig, sig.toUpperCase())).toBe(true);
    expect(signaturesEqual(sig, sig.slice(1))).toBe(false);
    expect(signaturesEqual(sig, md5('y'))).toBe(false);
  });
});
