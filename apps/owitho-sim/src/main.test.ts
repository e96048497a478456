import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@owc/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { loadOwithoSimConfig } from './config.js';
import { fetchToken, get } from './owitho-sim.test-kit.js';

const appDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

function spawnMain(env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ['--conditions=@owc/source', '--import', 'tsx', 'src/main.ts'], {
    cwd: appDir,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return child;
}

/** Every stdout line of the child, as it comes. */
function collectLines(child: ChildProcess): string[] {
  const seen: string[] = [];
  if (child.stdout) createInterface({ input: child.stdout }).on('line', (text) => seen.push(text));
  return seen;
}

function logLine(seen: string[], msg: string): Record<string, unknown> | undefined {
  for (const text of seen) {
    try {
      const line = JSON.parse(text) as Record<string, unknown>;
      if (line.msg === msg) return line;
    } catch {
      // not a log line
    }
  }
  return undefined;
}

describe('owitho-sim: standalone', () => {
  it('starts from settings, answers, never logs secrets, and exits 0 on SIGTERM', async () => {
    const child = spawnMain({
      OWITHO_SIM_PORT: '0',
      OWITHO_SIM_HOST: '127.0.0.1',
      OWITHO_SIM_APP_ID: 'app-1',
      OWITHO_SIM_SECRET_KEY: 'sk-1',
      OWITHO_SIM_TOKEN_QUOTA: '7',
      OWITHO_SIM_FAULTS: '{"callbackCode50002":true}',
      LOG_LEVEL: 'debug',
    });
    const seen = collectLines(child);
    const listening = await waitFor(() => logLine(seen, 'owitho-sim listening'), { timeoutMs: 30_000 });
    const url = String(listening.url);
    const token = await fetchToken(url);
    expect(token.code).toBe(200);
    const state = (await get(url, '/_sim/state')).body;
    expect(state).toMatchObject({ tokenFetches: 1, faults: { callbackCode50002: true } });
    await waitFor(() => logLine(seen, 'access token issued'));
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
    const output = seen.join('\n');
    expect(output).not.toContain('sk-1');
    expect(output).not.toContain(token.data?.accessToken);
  });

  it('refuses a bad setting, naming it, with exit code 2', async () => {
    const child = spawnMain({ OWITHO_SIM_DUPLICATE_RATE: '2', OWITHO_SIM_FAULTS: '{"hang":"yes"}' });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(2);
    expect(stderr).toMatch(/OWITHO_SIM_DUPLICATE_RATE/);
    expect(stderr).toMatch(/OWITHO_SIM_FAULTS/);
  });

  it('has a default for every setting', () => {
    const config = loadOwithoSimConfig({});
    expect(config).toMatchObject({
      OWITHO_SIM_PORT: 4000,
      OWITHO_SIM_THIRD_URL: 'http://127.0.0.1:3000',
      OWITHO_SIM_APP_ID: 'demo-app',
      OWITHO_SIM_TOKEN_QUOTA: 2000,
      OWITHO_SIM_STREAM_RATE: 0,
    });
    expect(config.OWITHO_SIM_FAULTS).toBeUndefined();
    expect(
      loadOwithoSimConfig({ OWITHO_SIM_FAULTS: '{"status503":true,"path":"/order/callback"}' }),
    ).toMatchObject({
      OWITHO_SIM_FAULTS: { status503: true, path: '/order/callback' },
    });
  });
});
