import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/** Resolves with true when a Redis at `url` answers PING within the timeout. */
export async function redisAnswers(url: string, timeoutMs = 1500): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export function hasRedisServerBinary(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

export interface StartedRedis {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** A redis-server of our own: its pid lets a benchmark read the server's CPU and RSS. */
export interface StartedRedisServer extends StartedRedis {
  pid: number;
}

/**
 * Starts a private, non-persistent redis-server on a free port (or on `port`: e.g. to bring one
 * back where a stopped one was, as a Redis restart).
 */
export async function startRedisServer(extraArgs: string[] = [], port?: number): Promise<StartedRedisServer> {
  const listenPort = port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'owc-redis-'));
  const child: ChildProcess = spawn(
    'redis-server',
    [
      '--port',
      String(listenPort),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      ...extraArgs,
    ],
    { stdio: 'ignore' },
  );
  const pid = child.pid;
  if (pid === undefined) throw new Error('redis-server could not be started (is it installed?)');
  const url = `redis://127.0.0.1:${listenPort}`;
  const deadline = Date.now() + 10_000;
  while (!(await redisAnswers(url, 500))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server on port ${listenPort} did not start`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    port: listenPort,
    pid,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const HOW_TO_GET_REDIS =
  'No Redis for the tests: set REDIS_URL to a Redis 7 that answers, or install redis-server ' +
  '(apt-get install redis-server), or run Docker so testcontainers can start one (docker compose up redis).';

/**
 * The Redis the tests use: the one at `url` (the test run's REDIS_URL) when it answers; else a
 * private redis-server; else a testcontainers Redis; else an error saying how to get one.
 */
export async function acquireRedis(url: string): Promise<StartedRedis> {
  if (await redisAnswers(url)) return { url, port: Number(new URL(url).port || 6379), stop: async () => {} };
  if (hasRedisServerBinary()) return startRedisServer();
  try {
    const { GenericContainer } = await import('testcontainers');
    const container = await new GenericContainer('redis:7-alpine').withExposedPorts(6379).start();
    const port = container.getMappedPort(6379);
    return {
      url: `redis://${container.getHost()}:${port}`,
      port,
      stop: async () => {
        await container.stop();
      },
    };
  } catch (error) {
    throw new Error(`${HOW_TO_GET_REDIS} (testcontainers: ${(error as Error).message})`);
  }
}
