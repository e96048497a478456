--[[
  What the ingress books for a notice, in one call beside the dispense job (advisory, like
  bookkeeping-3; its own hash tag): an order on its way is put in the open index and in the
  console's search indexes (by acceptance time, all orders and per machine), and the notice is
  counted as accepted, duplicate or conflict. Entries older than the order TTL are trimmed from
  the search indexes on one call in TRIM_EVERY (by the acceptance time), which bounds what lingers
  past the TTL without two more commands on every notice.

  KEYS[1] the open-orders index (sorted set, scored by acceptance time)
  KEYS[2] the counters hash
  KEYS[3] the search index of all orders (sorted set, scored by acceptance time)
  KEYS[4] the search index of the order's machine
  ARGV[1] the orderViewId
  ARGV[2] its acceptance time (ms epoch)
  ARGV[3] '1' to index the order (created, or a duplicate of an order still `accepted`), else ''
  ARGV[4] the counter to add 1 to ('accepted' | 'duplicates' | 'conflicts')
  ARGV[5] the oldest acceptance time kept in the search indexes (ms epoch)

  Output: 1 when the order was indexed now for the first time, else 0.
]]
local TRIM_EVERY = 64
local added = 0
if ARGV[3] == '1' then
  redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1])
  added = redis.call('ZADD', KEYS[3], 'NX', ARGV[2], ARGV[1])
  redis.call('ZADD', KEYS[4], 'NX', ARGV[2], ARGV[1])
  if tonumber(ARGV[2]) % TRIM_EVERY == 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. ARGV[5])
    redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', '(' .. ARGV[5])
  end
end
redis.call('HINCRBY', KEYS[2], ARGV[4], 1)
return added
