--[[
  Takes a batch to send. First returns expired in-flight batches to pending (at most ARGV[6]),
  then takes up to maxBatch of the oldest pending SKUs that have no batch in flight (one SKU is
  never in two requests at once) when the batch is full (and not held) or its oldest change has
  waited maxWaitMs. The taken batch is leased for leaseMs.

  Input:
    KEYS[1..7] the buffer (includes/buffer-keys.lua)
    ARGV[1] maxBatch
    ARGV[2] maxWaitMs
    ARGV[3] leaseMs
    ARGV[4] holdFull: '1' = do not send a batch only because it is full
    ARGV[5] the prefix of batch keys (a batch is ARGV[5] .. id)
    ARGV[6] how many expired batches one take returns to pending at most

  Output:
    a batch:     {'batch', reclaimed, id, skuCode, json, version, skuCode, json, version, ...}
    or nothing:  {'none', reclaimed, dueInMs, leaseInMs, pending}, where dueInMs is the time
                 until the oldest takeable change is due and leaseInMs the time until the next
                 in-flight lease expires (-1: no such change / no batch in flight)
]]
--- @include "includes/now-ms"
--- @include "includes/buffer-keys"
--- @include "includes/return-batch"
local maxBatch = tonumber(ARGV[1])
local maxWait = tonumber(ARGV[2])
local lease = tonumber(ARGV[3])
local holdFull = ARGV[4] == '1'
local bprefix = ARGV[5]
local now = nowMs()
local reclaimed = 0
for _, id in ipairs(redis.call('ZRANGEBYSCORE', k.leases, '-inf', now, 'LIMIT', 0, tonumber(ARGV[6]))) do
  returnBatch(k, bprefix .. id, id)
  reclaimed = reclaimed + 1
end
local function leaseIn()
  local first = redis.call('ZRANGE', k.leases, 0, 0, 'WITHSCORES')
  if #first == 0 then return -1 end
  return math.max(0, tonumber(first[2]) - now)
end
local pending = redis.call('ZCARD', k.queue)
local picked, since = {}, {}
local start = 0
while #picked < maxBatch and start < pending do
  local chunk = redis.call('ZRANGE', k.queue, start, start + maxBatch - 1, 'WITHSCORES')
  for j = 1, #chunk, 2 do
    if redis.call('HEXISTS', k.inflight, chunk[j]) == 0 then
      picked[#picked + 1] = chunk[j]
      since[#since + 1] = tonumber(chunk[j + 1])
      if #picked >= maxBatch then break end
    end
  end
  start = start + maxBatch
end
if #picked == 0 then return {'none', reclaimed, -1, leaseIn(), pending} end
local full = #picked >= maxBatch
local age = now - since[1]
if not ((full and not holdFull) or age >= maxWait) then
  return {'none', reclaimed, maxWait - age, leaseIn(), pending}
end
local id = tostring(redis.call('INCR', k.batchSeq))
local bkey = bprefix .. id
local out = {'batch', reclaimed, id}
for i, sku in ipairs(picked) do
  local json = redis.call('HGET', k.pending, sku)
  local v = redis.call('HGET', k.pendingVer, sku)
  redis.call('HSET', bkey, sku, cjson.encode({v = v, t = string.format('%.0f', since[i]), s = json}))
  redis.call('HDEL', k.pending, sku)
  redis.call('HDEL', k.pendingVer, sku)
  redis.call('ZREM', k.queue, sku)
  redis.call('HSET', k.inflight, sku, id)
  out[#out + 1] = sku
  out[#out + 1] = json
  out[#out + 1] = v
end
redis.call('ZADD', k.leases, now + lease, id)
return out
