import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, parseSettings, redisSettingsShape, setting } from './settings.js';

const schema = z.object({
  REDIS_URL: redisSettingsShape.REDIS_URL,
  PORT: setting.port().default(3000),
  KEY_PREFIX: redisSettingsShape.KEY_PREFIX,
});

describe('parseSettings', () => {
  it('takes a blank variable (FOO=) as unset: the default applies', () => {
    expect(parseSettings(schema, { REDIS_URL: '', PORT: '', KEY_PREFIX: '' })).toEqual({
      REDIS_URL: 'redis://127.0.0.1:6379',
      PORT: 3000,
      KEY_PREFIX: 'owc',
    });
  });

  it('refuses a bad value, naming the variable', () => {
    expect(() => parseSettings(schema, { PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => parseSettings(schema, { PORT: 'eighty' })).toThrow(/PORT/);
  });
});
