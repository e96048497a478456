import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

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

/** Resolves with the first JSON log line that satisfies `accept`. */
function logLine(child: ChildProcess, accept: (line: Record<string, unknown>) => boolean) {
  return new Promise<Record<string, unknown>>((resolve, reject) => {
    if (!child.stdout) return reject(new Error('no stdout'));
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (text) => {
      try {
        const line = JSON.parse(text) as Record<string, unknown>;
        if (accept(line)) resolve(line);
      } catch {
        // not a log line
      }
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code} before the line appeared`)));
  });
}

describe('machine-sim main', () => {
  it('starts from the environment, serves, and closes cleanly on SIGTERM', async () => {
    const child = spawnMain({
      MACHINE_SIM_PORT: '0',
      MACHINE_SIM_HOST: '127.0.0.1',
      MACHINE_SIM_MACHINES: '2',
      MACHINE_SIM_SLOTS: '3',
      MACHINE_SIM_VEND_MS: '0',
      LOG_LEVEL: 'info',
    });
    const started = await logLine(child, (l) => l.msg === 'machine-sim started');
    expect(started.machines).toEqual(['M001', 'M002']);
    const url = String(started.url);
    const machine = await fetch(`${url}/machines/M002`);
    expect(machine.status).toBe(200);
    expect(((await machine.json()) as { slotList: unknown[] }).slotList).toHaveLength(3);

    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = await exited;
    expect(code).toBe(0);
  });

  it('a bad setting stops it with exit code 2, naming the variable', async () => {
    const child = spawnMain({ MACHINE_SIM_PORT: 'not-a-port' });
    const stderr: Buffer[] = [];
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    const [code] = await once(child, 'exit');
    expect(code).toBe(2);
    expect(Buffer.concat(stderr).toString()).toContain('MACHINE_SIM_PORT');
  });
});
