/** KEYS[1] lock; ARGV[1] our fencing value, ARGV[2] ttl ms → 1 if we still hold it (and extended it). */
export const EXTEND_LOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`;

/** KEYS[1] lock; ARGV[1] our fencing value → 1 if we held it and released it. */
export const RELEASE_LOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`;

/**
 * KEYS[1] today's fetch counter; ARGV[1] quota, ARGV[2] counter ttl ms →
 * the count after this fetch, or -count when the quota is already used up (nothing counted).
 */
export const COUNT_FETCH = `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used >= tonumber(ARGV[1]) then return -used end
used = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return used
`;

/**
 * KEYS[1] lock, KEYS[2] state hash; ARGV[1] fencing value, ARGV[2] new token, ARGV[3] its expiry,
 * ARGV[4] end of the old token's overlap, ARGV[5] now → 1 when written, 0 when the lock was lost
 * (a writer that no longer holds the lock must not overwrite a newer token).
 */
export const WRITE_TOKEN = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local old = redis.call('HGET', KEYS[2], 'current')
if old and old ~= ARGV[2] then
  redis.call('HSET', KEYS[2], 'previous', old, 'previousUntil', ARGV[4])
end
redis.call('HSET', KEYS[2], 'current', ARGV[2], 'expireAt', ARGV[3], 'fetchedAt', ARGV[5])
redis.call('HINCRBY', KEYS[2], 'version', 1)
return 1
`;
