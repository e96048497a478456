import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Logger, Registry } from '@owc/observability';
import { silentLogger, waitFor } from '@owc/testing/kit';
import { TokenKeeper, tokenMetrics } from '@owc/token';
import { Redis } from 'ioredis';

// The benchmarks' only settings (they are tools, like a CLI): read here and nowhere else.
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** extra node flags for the child processes a benchmark spawns, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` */
export const CHILD_NODE_ARGS = (process.env.BENCH_CHILD_NODE_ARGS ?? '').split(' ').filter(Boolean);
/** scales the amount of work of the pipeline and sync benchmarks (1 = the figures in BENCHMARKS.md) */
export const SCALE = Number(process.env.BENCH_SCALE ?? 1);
/**
 * `dist`: the apps run from their compiled `dist/main.js` with plain node, as in production
 * (`pnpm build` first); otherwise from source under tsx, which keeps its compiled modules in
 * memory (tens of MB of RSS the production images do not have).
 */
export const APPS_FROM = process.env.BENCH_APPS_FROM === 'dist' ? 'dist' : 'source';

/**
 * The NODE_OPTIONS an app's image sets (an `ENV NODE_OPTIONS="…"` in its Dockerfile stage), so
 * that an app run from `dist` runs as its image does; '' when the stage sets none.
 */
function imageNodeOptions(app: string): string {
  const dockerfile = readFileSync(resolve(ROOT, 'Dockerfile'), 'utf8');
  const stage = dockerfile.split(/^FROM /m).find((s) => new RegExp(`^\\S+ AS ${app}\\s*\\n`).test(s));
  return (stage && /^ENV NODE_OPTIONS="([^"]*)"/m.exec(stage)?.[1]) || '';
}

export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  const n = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(n)) throw new Error(`${name}: expected a number, got "${raw}"`);
  return n;
}

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const APP = { appId: 'bench-app', secretKey: 'bench-secret-0001' };
export const silent: Logger = silentLogger('bench');

/** A fresh key prefix, and a function that deletes everything under it. */
export function benchPrefix(name: string): { prefix: string; cleanup(): Promise<void> } {
  const prefix = `bench-${name}-${randomUUID().slice(0, 8)}`;
  return {
    prefix,
    async cleanup() {
      const redis = new Redis(REDIS_URL);
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await redis.unlink(...keys);
      } while (cursor !== '0');
      redis.disconnect();
    },
  };
}

/**
 * Puts a fixed access token where every pod of this prefix reads it: a TokenKeeper whose
 * fetchToken returns the token writes the keeper's Redis state, exactly as the worker's token
 * role does after a real fetch.
 */
export async function seedToken(prefix: string, token = 'bench-token'): Promise<string> {
  const redis = new Redis(REDIS_URL);
  const keeper = new TokenKeeper({
    redis,
    keyPrefix: prefix,
    fetchToken: async () => ({ accessToken: token, expireTime: Date.now() + 24 * 3600_000 }),
    overlapMs: 60_000,
    refreshMarginMs: 60_000,
    dailyQuota: 10,
    quotaWarnShare: 0.8,
    cacheMs: 0,
    metrics: tokenMetrics(new Registry()),
  });
  await keeper.currentToken();
  redis.disconnect();
  return token;
}

/** A node child process: under tsx with the @owc/source condition, or an app's `dist/` (BENCH_APPS_FROM). */
export interface BenchChild {
  child: ChildProcess;
  output(): string;
  /** the first stdout line that parses as JSON and has `key` */
  line<T>(key: string, timeoutMs?: number): Promise<T>;
  /** SIGTERM (unless told), then the exit; SIGKILL if it does not exit in time */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<void>;
}

export function spawnNode(
  script: string,
  args: string[],
  env: Record<string, string> = {},
  /** a bench script that hosts this app (as ingress-server.ts hosts the ingress): with
   * BENCH_APPS_FROM=dist it runs under tsx without the @owc/source condition, so the workspace
   * packages it imports are their compiled `dist/`, with the app image's NODE_OPTIONS */
  hosts?: string,
): BenchChild {
  const app = /^apps\/([^/]+)\/src\/main\.ts$/.exec(script)?.[1];
  const compiled = app !== undefined && APPS_FROM === 'dist';
  const hosted = hosts !== undefined && APPS_FROM === 'dist';
  const runner = compiled
    ? [script.replace('/src/main.ts', '/dist/main.js')]
    : hosted
      ? ['--import', 'tsx', script]
      : ['--conditions=@owc/source', '--import', 'tsx', script];
  const image = compiled || hosted ? { NODE_OPTIONS: imageNodeOptions(app ?? (hosts as string)) } : {};
  const child = spawn(process.execPath, [...CHILD_NODE_ARGS, ...runner, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...image, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (chunk: Buffer) => {
    out += chunk.toString();
    if (out.length > 1_000_000) out = out.slice(-500_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  return {
    child,
    output: () => out,
    line: <T>(key: string, timeoutMs = 60_000) =>
      waitFor(
        () => {
          if (child.exitCode !== null) throw new Error(`${script} exited early:\n${out.slice(-4000)}`);
          for (const text of out.split('\n')) {
            if (!text.startsWith('{')) continue;
            try {
              const parsed = JSON.parse(text) as Record<string, unknown>;
              if (key in parsed) return parsed as T;
            } catch {
              // a partial line
            }
          }
          return undefined;
        },
        { timeoutMs, intervalMs: 20, what: `"${key}" from ${script}` },
      ),
    async stop(signal = 'SIGTERM', timeoutMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** CPU time (user + system, ms) and RSS (MB) of a process, from /proc/<pid>/stat. */
export function procStat(pid: number): { cpuMs: number; rssMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // fields after the command name, which is in parentheses and may hold spaces
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticksPerSec = 100; // USER_HZ on Linux
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const rssPages = Number(fields[21]);
  return {
    cpuMs: ((utime + stime) * 1000) / ticksPerSec,
    rssMb: Math.round(((rssPages * 4096) / 1024 / 1024) * 10) / 10,
  };
}

/** The 1-minute load average: how busy the machine was (other processes compete for the cores). */
export function machineLoad(): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}

/** The pid of the Redis server at REDIS_URL (it must be local for its CPU to be read). */
export async function redisServerPid(): Promise<number> {
  const redis = new Redis(REDIS_URL);
  try {
    const info = await redis.info('server');
    const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
    if (!pid) throw new Error('INFO server has no process_id');
    return pid;
  } finally {
    redis.disconnect();
  }
}
