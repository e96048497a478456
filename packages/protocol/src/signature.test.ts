import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signEnvelope } from './envelope.js';
import { businessSignature, randomSalt, signaturesEqual, tokenSignature } from './signature.js';

// Vectors derived by hand from docs/protocol.md's formulas: the exact string that is hashed is
// written out literally, and hashed here with node:crypto, independently of the code under test.
const md5 = (text: string) => createHash('md5').update(Buffer.from(text, 'utf8')).digest('hex');

// A Chinese sku/sync payload, written out as the compact JSON that travels in `data`.
const CHINESE_DATA =
  '{"skuList":[{"skuCode":"0000001","skuName":"可口可乐","skuUnit":"罐","skuSpec":"330ml","originalPrice":"2.50","skuPic":"https://img.example.com/cola.png"}]}';

describe('signature vectors', () => {
  it('token signature: md5("appId=…&salt=…&utc=…&secretKey=…")', () => {
    const input = 'appId=app1&salt=1234&utc=1526697000000&secretKey=sk';
    expect(tokenSignature({ appId: 'app1', salt: 1234, utc: 1526697000000, secretKey: 'sk' })).toBe(
      md5(input),
    );
    expect(tokenSignature({ appId: '4cdbc7d1a7', salt: 9999, utc: 1526697000000, secretKey: 's3cr3t' })).toBe(
      md5('appId=4cdbc7d1a7&salt=9999&utc=1526697000000&secretKey=s3cr3t'),
    );
  });

  it('business signature: md5("appId=…&accessToken=…&data=…&salt=…&utc=…") over the exact data string', () => {
    const input = 'appId=app1&accessToken=tok-1&data={"machineCode":"X1"}&salt=1234&utc=1526697000000';
    expect(
      businessSignature({
        appId: 'app1',
        accessToken: 'tok-1',
        data: '{"machineCode":"X1"}',
        salt: 1234,
        utc: 1526697000000,
      }),
    ).toBe(md5(input));
    // the exact string: a space in data is another signature
    expect(
      businessSignature({
        appId: 'app1',
        accessToken: 'tok-1',
        data: '{"machineCode": "X1"}',
        salt: 1234,
        utc: 1526697000000,
      }),
    ).not.toBe(md5(input));
  });

  it('hashes Chinese data as UTF-8 bytes, with no URL encoding', () => {
    const input = `appId=app1&accessToken=tok-1&data=${CHINESE_DATA}&salt=1234&utc=1526697000000`;
    const expected = md5(input);
    expect(
      businessSignature({
        appId: 'app1',
        accessToken: 'tok-1',
        data: CHINESE_DATA,
        salt: 1234,
        utc: 1526697000000,
      }),
    ).toBe(expected);
    // 罐 is the three UTF-8 bytes e7 bd 90
    expect(Buffer.from('罐', 'utf8').toString('hex')).toBe('e7bd90');
    // not the hash of a URL-encoded, UTF-16 or latin1 rendering
    expect(expected).not.toBe(md5(encodeURIComponent(input)));
    expect(expected).not.toBe(createHash('md5').update(Buffer.from(input, 'latin1')).digest('hex'));
    expect(expected).not.toBe(createHash('md5').update(Buffer.from(input, 'utf16le')).digest('hex'));
  });

  it('signEnvelope puts the Chinese payload in data as literal compact JSON and signs that string', () => {
    const payload = {
      skuList: [
        {
          skuCode: '0000001',
          skuName: '可口可乐',
          skuUnit: '罐',
          skuSpec: '330ml',
          originalPrice: '2.50',
          skuPic: 'https://img.example.com/cola.png',
        },
      ],
    };
    const envelope = signEnvelope(payload, { appId: 'app1' }, ['tok-1', 'tok-0'], {
      now: 1526697000000,
      salt: 1234,
    });
    expect(envelope).toEqual({
      appId: 'app1',
      salt: 1234,
      utc: 1526697000000,
      data: CHINESE_DATA,
      signatures: [
        md5(`appId=app1&accessToken=tok-1&data=${CHINESE_DATA}&salt=1234&utc=1526697000000`),
        md5(`appId=app1&accessToken=tok-0&data=${CHINESE_DATA}&salt=1234&utc=1526697000000`),
      ],
    });
  });

  it('pins literal values', () => {
    // computed outside node (coreutils md5sum over the same bytes)
    expect(tokenSignature({ appId: 'app1', salt: 1234, utc: 1526697000000, secretKey: 'sk' })).toBe(
      '2f2583875abcd96e8539242c6b33e707',
    );
    expect(tokenSignature({ appId: 'a', salt: 1000, utc: 0, secretKey: 'k' })).toBe(
      'e816090eac9434d2d463159f94f32f40',
    );
    expect(
      businessSignature({
        appId: 'app1',
        accessToken: 'tok-1',
        data: '{"machineCode":"X1"}',
        salt: 1234,
        utc: 1526697000000,
      }),
    ).toBe('5516a35cbd87a413a7a0a4f4e7aee412');
    expect(
      businessSignature({
        appId: 'app1',
        accessToken: 'tok-1',
        data: '{"skuUnit":"罐"}',
        salt: 1000,
        utc: 1526697000000,
      }),
    ).toBe('ef30653caa37a8c4380771306b4423d1');
    expect(
      businessSignature({
        appId: 'app1',
        accessToken: 'tok-1',
        data: CHINESE_DATA,
        salt: 1234,
        utc: 1526697000000,
      }),
    ).toBe('7e73acb922faa0d6d9feebb7642cc33e');
    expect(md5('')).toBe('d41d8cd98f00b204e9800998ecf8427e');
  });

  it('a salt or utc given as a digit string signs like the number it spells', () => {
    const base = { appId: 'app1', accessToken: 'tok-1', data: '{}' };
    expect(businessSignature({ ...base, salt: '1234', utc: '1526697000000' })).toBe(
      businessSignature({ ...base, salt: 1234, utc: 1526697000000 }),
    );
    expect(businessSignature({ appId: '', accessToken: '', data: '', salt: '', utc: '' })).toBe(
      md5('appId=&accessToken=&data=&salt=&utc='),
    );
  });

  it('compares case-insensitively and rejects other lengths', () => {
    const sig = md5('x');
    expect(signaturesEqual(sig, sig)).toBe(true);
    expect(signaturesEqual(sig, sig.toUpperCase())).toBe(true);
    expect(signaturesEqual(sig.toUpperCase(), sig)).toBe(true);
    expect(signaturesEqual(sig, sig.slice(1))).toBe(false);
    expect(signaturesEqual(sig, `${sig}0`)).toBe(false);
    expect(signaturesEqual(sig, '')).toBe(false);
    expect(signaturesEqual(sig, md5('y'))).toBe(false);
  });

  it('random salts are integers in 1000–9999', () => {
    const salts = Array.from({ length: 2000 }, () => randomSalt());
    for (const salt of salts) {
      expect(Number.isInteger(salt)).toBe(true);
      expect(salt).toBeGreaterThanOrEqual(1000);
      expect(salt).toBeLessThanOrEqual(9999);
    }
    expect(new Set(salts).size).toBeGreaterThan(1);
  });
});
