import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from 'ioredis';
import { freePort, hasRedisServerBinary } from './kit/redis-server.js';

/** how often a wait loop looks again (each loop has its own deadline) */
const POLL_MS = 100;

export interface StartedRedisCluster {
  /** host:port of every master, for REDIS_CLUSTER_NODES */
  nodes: string[];
  stop(): Promise<void>;
}

export function canStartRedisCluster(): boolean {
  return hasRedisServerBinary() && spawnSync('redis-cli', ['--version'], { stdio: 'ignore' }).status === 0;
}

async function clusterReady(nodes: string[], deadline: number): Promise<void> {
  for (;;) {
    const probe = new Cluster(
      nodes.map((n) => ({ host: '127.0.0.1', port: Number(n.split(':')[1]) })),
      {
        enableOfflineQueue: true,
        redisOptions: { maxRetriesPerRequest: 1 },
        clusterRetryStrategy: () => null,
      },
    );
    probe.on('error', () => {});
    try {
      const info = await probe.cluster('INFO');
      if (String(info).includes('cluster_state:ok')) {
        await probe.set('owc-cluster-probe', '1');
        await probe.del('owc-cluster-probe');
        return;
      }
    } catch {
      // not ready yet
    } finally {
      probe.disconnect();
    }
    if (Date.now() > deadline) throw new Error('redis cluster did not become ready');
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/**
 * Starts `masters` local redis-server processes in cluster mode on free ports and joins them
 * with `redis-cli --cluster create` (no replicas). For tests only.
 */
export async function startRedisCluster(masters = 3): Promise<StartedRedisCluster> {
  if (!canStartRedisCluster())
    throw new Error('redis-server and redis-cli are needed to start a Redis Cluster');
  const dir = mkdtempSync(join(tmpdir(), 'owc-cluster-'));
  const ports: number[] = [];
  while (ports.length < masters) {
    const port = await freePort();
    // the cluster bus listens on port + 10000: keep both in range and distinct
    if (port < 55_000 && !ports.includes(port)) ports.push(port);
  }
  const children = ports.map((port) =>
    spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, `nodes-${port}.conf`),
        '--cluster-node-timeout',
        '5000',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
      ],
      { stdio: 'ignore' },
    ),
  );
  const nodes = ports.map((p) => `127.0.0.1:${p}`);
  const stop = async () => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + 30_000;
    for (const port of ports) {
      while (
        spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout.trim() !== 'PONG'
      ) {
        if (Date.now() > deadline) throw new Error(`cluster node ${port} did not start`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const created = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes'],
      {
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    if (created.status !== 0)
      throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
    await clusterReady(nodes, deadline);
    return { nodes, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
