--[[
  What the ingress books for the notices of one turn of its event loop, in one call beside their
  dispense jobs (advisory, like bookkeeping-3; its own hash tag): each order on its way is put in
  the open index and in the console's search logs (order-keys.ts SEARCH_LOGS: its entry appended
  to the log of its hour, and a reference to that entry to the log of its machine's day), and each
  notice is counted as accepted, duplicate or conflict (one HINCRBY per counter for the batch). A
  log gets its expiry when it is created; when a log is created, the one before it (its growth
  left spare room: APPEND grows a string by doubling) is written again at its exact size, and once
  more when the new one passes SETTLE_BYTES (for the entries that arrived late). On one notice in
  TRIM_EVERY the previous layout's sorted-set indexes are trimmed to the order TTL, so they empty
  out after an upgrade. The notices are taken in order, each as a call of its own would.

  The key count varies (-n): 3 + 5 per notice.
  KEYS[1] the open-orders index (sorted set, scored by acceptance time)
  KEYS[2] the counters hash
  KEYS[3] the previous layout's search index of all orders (sorted set)
  then per notice i (from 0), KEYS[4 + 5i ..]:
    +0 the search log of the acceptance hour
    +1 the search log of the order's machine for the acceptance day
    +2 the search log of the hour before
    +3 the search log of the machine for the day before
    +4 the previous layout's search index of the order's machine (sorted set)
  ARGV[1] the oldest acceptance time kept in the search indexes (ms epoch)
  then per notice i, ARGV[2 + 8i ..]:
    +0 the orderViewId
    +1 its acceptance time (ms epoch)
    +2 '1' to index the order (created, or a duplicate of an order still `accepted`), else ''
    +3 the counter to add 1 to ('accepted' | 'duplicates' | 'conflicts')
    +4 the entry for the hour's log
    +5 the hour of the day, the first character of the reference in the machine's day log
    +6 when the hour's log expires (ms epoch)
    +7 when the machine's day log expires (ms epoch)

  Output: the number of orders indexed.
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
local counts = {}
local counters = {}
for i = 0, (#KEYS - 3) / 5 - 1 do
  local k = 4 + 5 * i
  local a = 2 + 8 * i
  if ARGV[a + 2] == '1' then
    redis.call('ZADD', KEYS[1], 'NX', ARGV[a + 1], ARGV[a])
    local at = append(KEYS[k], ARGV[a + 4], ARGV[a + 6], KEYS[k + 2])
    append(KEYS[k + 1], ARGV[a + 5] .. position(at), ARGV[a + 7], KEYS[k + 3])
    indexed = indexed + 1
    if tonumber(ARGV[a + 1]) % TRIM_EVERY == 0 then
      redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. ARGV[1])
      redis.call('ZREMRANGEBYSCORE', KEYS[k + 4], '-inf', '(' .. ARGV[1])
    end
  end
  local counter = ARGV[a + 3]
  if not counts[counter] then
    counts[counter] = 0
    counters[#counters + 1] = counter
  end
  counts[counter] = counts[counter] + 1
end
for _, counter in ipairs(counters) do redis.call('HINCRBY', KEYS[2], counter, counts[counter]) end
return indexed
