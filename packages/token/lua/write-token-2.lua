--[[
  Writes a freshly fetched token, fenced by the lock: a writer that no longer holds the lock
  must not overwrite a newer token. The token it replaces stays honoured as `previous` until
  the end of the overlap.

  Input:
    KEYS[1] the token lock (a RedisLease)
    KEYS[2] the token state hash
    ARGV[1] our lock token
    ARGV[2] the new access token
    ARGV[3] its absolute expiry, ms
    ARGV[4] the end of the old token's overlap, ms
    ARGV[5] now, ms

  Output:
    'written'; or 'lost' when the lock is no longer ours (nothing written)
]]
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 'lost' end
local old = redis.call('HGET', KEYS[2], 'current')
if old and old ~= ARGV[2] then
  redis.call('HSET', KEYS[2], 'previous', old, 'previousUntil', ARGV[4])
end
redis.call('HSET', KEYS[2], 'current', ARGV[2], 'expireAt', ARGV[3], 'fetchedAt', ARGV[5])
redis.call('HINCRBY', KEYS[2], 'version', 1)
return 'written'
