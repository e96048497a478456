import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';

/** how often a wait loop looks again (each loop has its own deadline) */
const POLL_MS = 100;

const ROOT = resolve(import.meta.dirname, '..');

/** One app process (`apps/<app>/src/main.ts` under tsx) started by a test. */
export interface AppProcess {
  name: string;
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** sends the signal (SIGTERM unless told) and waits for the exit */
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnApp(
  app: 'worker' | 'ingress' | 'owitho-sim' | 'machine-sim',
  env: Record<string, string>,
): AppProcess {
  const child = spawn(
    process.execPath,
    ['--conditions=@owc/source', '--import', 'tsx', `apps/${app}/src/main.ts`],
    {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const chunks: string[] = [];
  const keep = (chunk: Buffer) => {
    chunks.push(chunk.toString());
    if (chunks.length > 2000) chunks.splice(0, 1000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once('exit', (code, signal) => done({ code, signal })),
  );
  return {
    name: app,
    child,
    output: () => chunks.join(''),
    exited,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/**
 * Resolves once `url` answers below 500. The default wait is generous: a process started from
 * source under tsx on a loaded 2-core machine has taken over 30 s to listen.
 */
export async function waitHttp(url: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url);
      if (res.status < 500) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
