import { Cluster, Redis, type RedisOptions } from 'ioredis';

/** A connection to a single Redis or to a Redis Cluster; BullMQ and our scripts take either. */
export type RedisClient = Redis | Cluster;

export interface RedisConnectionSettings {
  /** redis://… for one Redis; redis+cluster://host:port,host:port for a cluster */
  url: string;
  /** seeds as host:port; when non-empty, a cluster is used */
  clusterNodes?: readonly string[];
  /** producer connections: a command not answered within this fails (the caller answers 503) */
  commandTimeoutMs?: number;
}

/**
 * - `worker`: blocking consumers and long-lived clients. Never gives up on a command
 *   (BullMQ requires maxRetriesPerRequest: null).
 * - `producer`: request paths such as the ingress. Fails fast when Redis is away, so the
 *   caller can answer 503 instead of hanging.
 */
export type ConnectionPurpose = 'worker' | 'producer';

const PRODUCER_COMMAND_TIMEOUT_MS = 2000;

function optionsFor(purpose: ConnectionPurpose, settings: RedisConnectionSettings): RedisOptions {
  const commandTimeout = settings.commandTimeoutMs ?? PRODUCER_COMMAND_TIMEOUT_MS;
  return purpose === 'worker'
    ? { maxRetriesPerRequest: null, enableReadyCheck: true }
    : {
        maxRetriesPerRequest: 1,
        enableOfflineQueue: false,
        connectTimeout: commandTimeout,
        commandTimeout,
        // many concurrent requests share one socket: batch their commands into fewer writes
        enableAutoPipelining: false,
      };
}

export function clusterSeeds(settings: RedisConnectionSettings): { host: string; port: number }[] {
  const fromUrl = settings.url.startsWith('redis+cluster://')
    ? settings.url.slice('redis+cluster://'.length).split(',')
    : [];
  const seeds = settings.clusterNodes && settings.clusterNodes.length > 0 ? settings.clusterNodes : fromUrl;
  return seeds
    .map((s) => s.trim().replace(/\/.*$/, ''))
    .filter(Boolean)
    .map((seed) => {
      const [host, port] = seed.split(':');
      return { host: host || '127.0.0.1', port: Number(port || 6379) };
    });
}

export function createRedis(settings: RedisConnectionSettings, purpose: ConnectionPurpose): RedisClient {
  const options = optionsFor(purpose, settings);
  const seeds = clusterSeeds(settings);
  if (seeds.length > 0) {
    return new Cluster(seeds, {
      redisOptions: options,
      enableOfflineQueue: options.enableOfflineQueue ?? true,
      enableReadyCheck: true,
      maxRedirections: 16,
    });
  }
  const redis = new Redis(settings.url, options);
  if (purpose === 'producer') coalesceWrites(redis);
  return redis;
}

/**
 * The commands a connection is given in one turn of the event loop go out in one socket write:
 * the socket is corked on the first and uncorked in the loop's check phase (setImmediate), so
 * the commands of every request and reply handled in one poll phase leave together, as ioredis's
 * auto-pipelining would batch them, without the Pipeline object it builds per batch.
 */
export function coalesceWrites(redis: Redis): void {
  const send = redis.sendCommand;
  let corked = false;
  redis.sendCommand = function (this: Redis, ...args: Parameters<Redis['sendCommand']>) {
    const socket = this.stream;
    if (!corked && socket && !args[1]) {
      corked = true;
      socket.cork();
      setImmediate(() => {
        corked = false;
        socket.uncork();
      });
    }
    return send.apply(this, args);
  } as Redis['sendCommand'];
}

/** Closes a connection politely, and forcefully when QUIT does not answer in time. */
export async function closeRedis(client: RedisClient, timeoutMs = 2000): Promise<void> {
  if (client.status === 'end') return;
  const timer = setTimeout(() => client.disconnect(), timeoutMs);
  try {
    await client.quit();
  } catch {
    client.disconnect();
  } finally {
    clearTimeout(timer);
  }
}
