import { CALLBACK_MAX_ATTEMPTS } from '@owc/queues';
import { describe, expect, it } from 'vitest';
import { loadWorkerConfig } from './config.js';

const env = {
  OWITHO_BASE_URL: 'http://owitho.test',
  OWITHO_APP_ID: 'app',
  OWITHO_SECRET_KEY: 'secret',
  MACHINE_GATEWAY_URL: 'http://gateway.test',
};
const schedule = (entries: number) => Array.from({ length: entries }, () => '1000').join(',');

describe('worker config', () => {
  it("takes a callback schedule shorter than the catalog's ceiling on a callback job's attempts", () => {
    const entries = CALLBACK_MAX_ATTEMPTS - 1;
    expect(
      loadWorkerConfig({ ...env, CALLBACK_SCHEDULE_MS: schedule(entries) }).CALLBACK_SCHEDULE_MS,
    ).toHaveLength(entries);
  });

  it('refuses a schedule the ceiling would cut short, naming the setting', () => {
    expect(() => loadWorkerConfig({ ...env, CALLBACK_SCHEDULE_MS: schedule(CALLBACK_MAX_ATTEMPTS) })).toThrow(
      /CALLBACK_SCHEDULE_MS/,
    );
  });

  it('a dispense pod has a gateway socket per dispense job: fewer are refused, naming the setting', () => {
    const defaults = loadWorkerConfig(env);
    expect(defaults.GATEWAY_CONNECTIONS).toBeGreaterThanOrEqual(defaults.DISPENSE_CONCURRENCY);
    const fewer = { ...env, DISPENSE_CONCURRENCY: '64', GATEWAY_CONNECTIONS: '32' };
    expect(() => loadWorkerConfig(fewer)).toThrow(/GATEWAY_CONNECTIONS.*DISPENSE_CONCURRENCY \(64\)/);
    // a pod without the dispense role sends no vends
    expect(loadWorkerConfig({ ...fewer, WORKER_ROLES: 'callback' }).GATEWAY_CONNECTIONS).toBe(32);
  });
});
