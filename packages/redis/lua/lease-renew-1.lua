--[[
  Extends a lease, only while it is still ours.

  Input:
    KEYS[1] the lease
    ARGV[1] our token (the random value we took it with)
    ARGV[2] time to live from now, ms

  Output:
    1 extended; 0 the lease is gone or held by someone else (nothing changed)
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
