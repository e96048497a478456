--[[
  owitho answered 200 for a batch: forgets its entries. Frees the SKUs, drops the batch, and
  drops a pending entry of exactly the acknowledged version (the batch had been taken back
  after a lost lease).

  Input:
    KEYS[1..7] the buffer (includes/buffer-keys.lua)
    ARGV[1] batch id
    ARGV[2] batch key
    ARGV[3..] pairs: skuCode, the version owitho acknowledged

  Output:
    1 when the batch was still ours, 0 when not
]]
--- @include "includes/buffer-keys"
local id, bkey = ARGV[1], ARGV[2]
for i = 3, #ARGV, 2 do
  local sku = ARGV[i]
  if redis.call('HGET', k.inflight, sku) == id then redis.call('HDEL', k.inflight, sku) end
  local pv = redis.call('HGET', k.pendingVer, sku)
  if pv and tonumber(pv) == tonumber(ARGV[i + 1]) then
    redis.call('HDEL', k.pending, sku)
    redis.call('HDEL', k.pendingVer, sku)
    redis.call('ZREM', k.queue, sku)
  end
end
local ours = redis.call('DEL', bkey)
redis.call('ZREM', k.leases, id)
return ours
