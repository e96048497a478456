import { redisTest } from '@owc/testing';
import { describe, expect, it } from 'vitest';
import { createProducer } from './producer.js';
import { VanishedJobs, vanishedJobOf } from './vanished-jobs.js';

describe('vanishedJobOf', () => {
  it("reads the job id and command out of BullMQ's missing-key error, and nothing else", () => {
    expect(vanishedJobOf(new Error('Missing key for job cb-A.1. moveToFinished'))).toEqual({
      jobId: 'cb-A.1',
      command: 'moveToFinished',
    });
    expect(vanishedJobOf(new Error('Missing key for parent job p:1. moveToFinished'))).toBeUndefined();
    expect(vanishedJobOf(new Error('Missing lock for job A. moveToFinished'))).toBeUndefined();
    expect(vanishedJobOf('Missing key for job A. moveToFinished')).toBeUndefined();
  });
});

describe('VanishedJobs.forget', () => {
  redisTest('clears a job out of active only while its hash is missing', async ({ redis, prefix }) => {
    const producer = createProducer(redis, { keyPrefix: prefix });
    const queue = producer.queue('dispense');
    const vanished = new VanishedJobs(redis);
    const jobKey = queue.toKey('J1');
    await redis.rpush(queue.toKey('active'), 'J0', 'J1');
    await redis.sadd(queue.toKey('stalled'), 'J1');
    await redis.set(`${jobKey}:lock`, 'token');
    await redis.rpush(`${jobKey}:logs`, 'a line');
    await redis.hset(jobKey, 'name', 'order.dispense');

    // a job that exists is never touched
    expect(await vanished.forget(queue, 'J1')).toBe('present');
    expect(await redis.lrange(queue.toKey('active'), 0, -1)).toEqual(['J0', 'J1']);

    await redis.del(jobKey);
    // a worker still holds it: only its end may clear it
    expect(await vanished.forget(queue, 'J1')).toBe('held');
    expect(await redis.lrange(queue.toKey('active'), 0, -1)).toEqual(['J0', 'J1']);
    expect(await vanished.forget(queue, 'J1', 'ended')).toBe('forgotten');
    expect(await redis.lrange(queue.toKey('active'), 0, -1)).toEqual(['J0']);
    expect(await redis.sismember(queue.toKey('stalled'), 'J1')).toBe(0);
    expect(await redis.exists(`${jobKey}:lock`, `${jobKey}:logs`)).toBe(0);
    // BullMQ reports it again: nothing left to do
    expect(await vanished.forget(queue, 'J1')).toBe('absent');
    await producer.close();
  });
});
