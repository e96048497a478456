--[[
  Appends events to an order's timeline: to its list while the order is on its way; to the packed
  record once it is reported (includes/packed.lua), so a reported order keeps one key.

  KEYS[1] the order's record ({order:<id>}:record: a hash, or a string once reported and packed)
  KEYS[2] the order's timeline list ({order:<id>}:timeline)
  ARGV[1] how long the list is kept (ms; set when the list is created)
  ARGV[2] the most events kept per order (the list drops its oldest; a packed record takes no more)
  ARGV[3] the orderViewId
  ARGV[4..] the events, each a compact JSON array (order-timeline.ts)

  Output: 'list' or 'packed': where the events went.

  The record's type is looked at only when the list is new (once per order on the usual path).
]]
--- @include "includes/packed"

local max = tonumber(ARGV[2])
local length = redis.call('RPUSH', KEYS[2], unpack(ARGV, 4))
if length > #ARGV - 3 then
  -- the list was there: an order on its way (or events an older worker wrote after the report)
  if length > max then redis.call('LTRIM', KEYS[2], -max, -1) end
  return 'list'
end
-- a new list: the first events of an order on its way, or an order already reported and packed
if redis.call('TYPE', KEYS[1]).ok ~= 'string' then
  redis.call('PEXPIRE', KEYS[2], ARGV[1])
  if length > max then redis.call('LTRIM', KEYS[2], -max, -1) end
  return 'list'
end
redis.call('DEL', KEYS[2])
local packed = redis.call('GET', KEYS[1])
local _, count = string.gsub(packed, GS, '')
local events = {}
for i = 4, #ARGV do
  local e = listEvent(ARGV[i])
  if e and count + #events < max then events[#events + 1] = e end
end
-- written in full (no usual answer left out): the context of the packed events is not at hand
local more = packEvents(events, lastEventTime(packed), {orderViewId = ARGV[3], vendUnit = -2, attempt = -2})
if more ~= '' then redis.call('SET', KEYS[1], packed .. more, 'KEEPTTL') end
return 'packed'
