import { Cluster } from 'ioredis';
import { expect, it } from 'vitest';
import { canStartRedisCluster, startRedisCluster } from './redis-cluster.js';

it('starts a 3-master Redis Cluster that spreads keys over its nodes', async (ctx) => {
  if (!canStartRedisCluster()) {
    ctx.skip('redis-server/redis-cli are not installed: no local Redis Cluster can be started');
  }
  const cluster = await startRedisCluster(3);
  try {
    expect(cluster.nodes).toHaveLength(3);
    const client = new Cluster(
      cluster.nodes.map((n) => ({ host: '127.0.0.1', port: Number(n.split(':')[1]) })),
    );
    for (let i = 0; i < 30; i++) await client.set(`k${i}`, String(i));
    const perNode = await Promise.all(client.nodes('master').map((node) => node.dbsize()));
    expect(perNode.filter((n) => n > 0).length).toBeGreaterThan(1);
    client.disconnect();
  } finally {
    await cluster.stop();
  }
}, 60_000);
