--[[
  Records the SKU changes of one job. A change is accepted when its version is above every
  version of that SKU accepted before (kept in `seen`, also after sending): a stale or repeated
  job never moves a SKU back.

  Input:
    KEYS[1..7] the buffer (includes/buffer-keys.lua)
    KEYS[8]    the sku-sync queue's BullMQ job id counter (same hash tag)
    ARGV[1]    the changes' version; '' = take the next value of the id counter
    ARGV[2..]  pairs: skuCode, SKU json

  Output:
    {accepted, version}: how many changes were newer than what was known (an integer), and the
    version they were recorded with (a string)
]]
--- @include "includes/now-ms"
--- @include "includes/buffer-keys"
local vstr = ARGV[1]
if vstr == '' then vstr = string.format('%.0f', redis.call('INCR', KEYS[8])) end
local version = tonumber(vstr)
local now = nowMs()
local accepted = 0
for i = 2, #ARGV, 2 do
  local sku = ARGV[i]
  local seen = tonumber(redis.call('HGET', k.seen, sku) or '-1')
  if version > seen then
    redis.call('HSET', k.seen, sku, vstr)
    redis.call('HSET', k.pending, sku, ARGV[i + 1])
    redis.call('HSET', k.pendingVer, sku, vstr)
    redis.call('ZADD', k.queue, 'NX', now, sku)
    accepted = accepted + 1
  end
end
return {accepted, vstr}
