import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, destination };
}

describe('createLogger', () => {
  it('redacts secrets, tokens and signatures wherever they sit', () => {
    const { lines, destination } = capture();
    const log = createLogger({ level: 'info', name: 't', destination });
    log.info(
      {
        secretKey: 's3cret',
        token: { accessToken: 'tok-123' },
        envelope: { signatures: ['abcd'] },
        accessToken: 'tok-9',
      },
      'hello',
    );
    const text = lines.join('');
    expect(text).toContain('hello');
    expect(text).not.toContain('s3cret');
    expect(text).not.toContain('tok-123');
    expect(text).not.toContain('tok-9');
    expect(text).not.toContain('abcd');
    expect(text).toContain('[redacted]');
  });
});
