import { describe, expect, it } from 'vitest';
import { callbackJobId, dispenseJobId, replayCallbackJobId } from './job-ids.js';

describe('job ids', () => {
  it('job ids are deterministic and valid for BullMQ (no ":", never an integer)', () => {
    expect(callbackJobId('XBL0001')).toBe('cb-XBL0001');
    expect(callbackJobId('a:b%c')).toBe('cb-a%3Ab%25c');
    expect(dispenseJobId('XBL0001')).toBe('XBL0001');
    expect(dispenseJobId('12345')).toBe('%N12345');
    expect(dispenseJobId('a:1')).toBe('a%3A1');
    expect(replayCallbackJobId('X1', 42)).toBe('cb-X1-replay-42');
  });

  it('keeps the mapping one-to-one', () => {
    expect(dispenseJobId('OV:7:1')).not.toBe(dispenseJobId('OV%3A7:1'));
    expect(dispenseJobId('%N12')).not.toBe(dispenseJobId('12'));
  });
});
