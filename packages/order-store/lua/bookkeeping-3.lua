--[[
  The order indexes and counters (advisory: they drive the stuck-order sweep, the dead-letter
  list and the summary), updated in one call. They live under their own hash tag, apart from
  the orders.

  KEYS[1] the open-orders index (sorted set, scored by acceptance time)
  KEYS[2] the dead-letters index (sorted set, scored by when the callback was given up on)
  KEYS[3] the counters hash
  ARGV[1] what happened: 'accepted' | 'reported' | 'dead' | 'revived'
  ARGV[2] the orderViewId
  ARGV[3] a time (ms epoch): acceptance for 'accepted', death for 'dead'
  ARGV[4..] counter fields to add 1 to

  Output: the number of counters incremented.
]]
local what = ARGV[1]
if what == 'accepted' then
  redis.call('ZADD', KEYS[1], 'NX', ARGV[3], ARGV[2])
elseif what == 'reported' then
  redis.call('ZREM', KEYS[1], ARGV[2])
  redis.call('ZREM', KEYS[2], ARGV[2])
elseif what == 'dead' then
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
elseif what == 'revived' then
  redis.call('ZREM', KEYS[2], ARGV[2])
end
for i = 4, #ARGV do redis.call('HINCRBY', KEYS[3], ARGV[i], 1) end
return #ARGV - 3
