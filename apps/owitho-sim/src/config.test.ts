import { ConfigError } from '@owc/config';
import { describe, expect, it } from 'vitest';
import { loadOwithoSimConfig } from './config.js';

describe('owitho-sim config', () => {
  it('OWITHO_SIM_TOLERANT_SHARE: 0 by default, a share in 0..1, anything else refused naming it', () => {
    expect(loadOwithoSimConfig({}).OWITHO_SIM_TOLERANT_SHARE).toBe(0);
    expect(loadOwithoSimConfig({ OWITHO_SIM_TOLERANT_SHARE: '0.5' }).OWITHO_SIM_TOLERANT_SHARE).toBe(0.5);
    for (const bad of ['1.5', '-0.1', 'half']) {
      expect(() => loadOwithoSimConfig({ OWITHO_SIM_TOLERANT_SHARE: bad })).toThrow(ConfigError);
      expect(() => loadOwithoSimConfig({ OWITHO_SIM_TOLERANT_SHARE: bad })).toThrow(
        /OWITHO_SIM_TOLERANT_SHARE/,
      );
    }
  });
});
