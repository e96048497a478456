--[[
  Frees a lease, only while it is still ours: an expired holder never frees the next
  holder's lease.

  Input:
    KEYS[1] the lease
    ARGV[1] our token

  Output:
    1 freed; 0 the lease was gone or someone else's (nothing changed)
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
