--[[
  What the ingress books for a notice, in one call beside the dispense job (advisory, like
  bookkeeping-3; its own hash tag): an order on its way is put in the open index and in the
  console's search logs (order-keys.ts SEARCH_LOGS: its entry appended to the log of its hour, and
  a reference to that entry to the log of its machine's day), and the notice is counted as
  accepted, duplicate or conflict. A log gets its expiry when it is created; when a log is
  created, the one before it (its growth left spare room: APPEND grows a string by doubling) is
  written again at its exact size, and once more when the new one passes SETTLE_BYTES (for the
  entries that arrived late). On one call in TRIM_EVERY the previous layout's sorted-set
  indexes are trimmed to the order TTL, so they empty out after an upgrade.

  KEYS[1] the open-orders index (sorted set, scored by acceptance time)
  KEYS[2] the counters hash
  KEYS[3] the search log of the acceptance hour
  KEYS[4] the search log of the order's machine for the acceptance day
  KEYS[5] the search log of the hour before
  KEYS[6] the search log of the machine for the day before
  KEYS[7] the previous layout's search index of all orders (sorted set)
  KEYS[8] the previous layout's search index of the order's machine (sorted set)
  ARGV[1] the orderViewId
  ARGV[2] its acceptance time (ms epoch)
  ARGV[3] '1' to index the order (created, or a duplicate of an order still `accepted`), else ''
  ARGV[4] the counter to add 1 to ('accepted' | 'duplicates' | 'conflicts')
  ARGV[5] the oldest acceptance time kept in the search indexes (ms epoch)
  ARGV[6] the entry for KEYS[3]
  ARGV[7] the hour of the day, the first character of the reference in KEYS[4]
  ARGV[8] when KEYS[3] expires (ms epoch)
  ARGV[9] when KEYS[4] expires (ms epoch)

  Output: 1 when the order was indexed, else 0.
]]
local TRIM_EVERY = 64
local POSITION_WIDTH = 6
local DIGITS = '0123456789abcdefghijklmnopqrstuvwxyz'

-- once a log has grown past this, the log before it is written at its exact size again: an entry
-- that arrived late (computed just before the hour or day turned) grew it back by doubling
local SETTLE_BYTES = 4096

-- writes a log again at its exact size (a string APPEND grew keeps up to as much again spare)
local function exact(log)
  local full = redis.call('GET', log)
  if full then redis.call('SET', log, full, 'KEEPTTL') end
end

-- appends to a log; a new log gets its expiry, and the log before it its exact size (again once
-- this one passes SETTLE_BYTES). Returns where the appended text starts.
local function append(log, text, expireAt, before)
  local length = redis.call('APPEND', log, text)
  local start = length - #text
  if start == 0 then
    redis.call('PEXPIREAT', log, expireAt)
    exact(before)
  elseif start < SETTLE_BYTES and length >= SETTLE_BYTES then
    exact(before)
  end
  return start
end

-- a position in base 36, POSITION_WIDTH characters
local function position(n)
  local out = ''
  for _ = 1, POSITION_WIDTH do
    local d = n % 36
    out = string.sub(DIGITS, d + 1, d + 1) .. out
    n = (n - d) / 36
  end
  return out
end

local indexed = 0
if ARGV[3] == '1' then
  redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1])
  local at = append(KEYS[3], ARGV[6], ARGV[8], KEYS[5])
  append(KEYS[4], ARGV[7] .. position(at), ARGV[9], KEYS[6])
  indexed = 1
  if tonumber(ARGV[2]) % TRIM_EVERY == 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[7], '-inf', '(' .. ARGV[5])
    redis.call('ZREMRANGEBYSCORE', KEYS[8], '-inf', '(' .. ARGV[5])
  end
end
redis.call('HINCRBY', KEYS[2], ARGV[4], 1)
return indexed
