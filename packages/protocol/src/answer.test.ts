import { describe, expect, it } from 'vitest';
import { errorAnswer, okAnswer, readAnswer } from './answer.js';

describe('answers', () => {
  it('we answer with an integer code', () => {
    expect(okAnswer()).toEqual({ code: 200, msg: 'success' });
    expect(okAnswer({ orderViewId: 'A' })).toEqual({ code: 200, msg: 'success', data: { orderViewId: 'A' } });
    expect(errorAnswer(40002, 'signature verification failed')).toEqual({
      code: 40002,
      msg: 'signature verification failed',
    });
  });

  it('reads code as an int or a numeric string', () => {
    expect(readAnswer({ code: 200, msg: 'success' })).toEqual({ code: 200, msg: 'success' });
    expect(readAnswer({ code: '200', msg: 'success' })).toEqual({ code: 200, msg: 'success' });
    expect(readAnswer({ code: '40002', msg: 'x' })).toEqual({ code: 40002, msg: 'x' });
    expect(readAnswer('{"code":"40002","msg":"x"}')).toEqual({ code: 40002, msg: 'x' });
    expect(readAnswer('{"code":50001}')).toEqual({ code: 50001, msg: '' });
    expect(readAnswer({ code: 200, msg: null })).toEqual({ code: 200, msg: '' });
    expect(readAnswer(okAnswer({ a: 1 }))).toEqual({ code: 200, msg: 'success', data: { a: 1 } });
    expect(
      readAnswer('{"code":200,"msg":"success","data":{"accessToken":"t","expireTime":1452570728594}}'),
    ).toEqual({ code: 200, msg: 'success', data: { accessToken: 't', expireTime: 1452570728594 } });
  });

  it('non-answers → undefined', () => {
    for (const bad of [
      'nope',
      '{',
      '',
      '[]',
      'null',
      null,
      undefined,
      42,
      [],
      { msg: 'no code' },
      { code: 'abc' },
      { code: '' },
      { code: '2.5' },
      { code: 200.5 },
      { code: null },
      { code: 200, msg: 7 },
    ])
      expect(readAnswer(bad)).toBeUndefined();
  });
});
