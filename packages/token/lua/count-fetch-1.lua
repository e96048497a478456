--[[
  Counts one access-token fetch against today's quota, unless the quota is used up.

  Input:
    KEYS[1] today's fetch counter
    ARGV[1] the daily quota
    ARGV[2] the counter's time to live, ms

  Output:
    the count after this fetch (> 0); or -count when the quota was already used up
    (nothing counted: the caller must not fetch)
]]
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used >= tonumber(ARGV[1]) then return -used end
used = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return used
