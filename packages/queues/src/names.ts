import type { QueueName } from './catalog.js';

/**
 * BullMQ key prefix of one queue: `${keyPrefix}:{${queue}}`. The braces are the Redis Cluster
 * hash tag, so each queue's keys live in one slot and different queues spread over the cluster.
 */
export function queuePrefix(keyPrefix: string, queue: QueueName): string {
  return `${keyPrefix}:{${queue}}`;
}
