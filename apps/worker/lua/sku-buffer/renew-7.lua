--[[
  Before each (re)send of a batch: extends its lease and swaps in any newer pending version of
  its SKUs (a newer change supersedes an unsent one).

  Input:
    KEYS[1..7] the buffer (includes/buffer-keys.lua)
    ARGV[1] batch id
    ARGV[2] batch key
    ARGV[3] leaseMs

  Output:
    {skuCode, json, version, ...} the batch's entries; {} when the batch is no longer ours (its
    lease expired and it went back to pending)
]]
--- @include "includes/now-ms"
--- @include "includes/buffer-keys"
local id, bkey = ARGV[1], ARGV[2]
local now = nowMs()
if not redis.call('ZSCORE', k.leases, id) then return {} end
redis.call('ZADD', k.leases, 'XX', now + tonumber(ARGV[3]), id)
local flat = redis.call('HGETALL', bkey)
local out = {}
for i = 1, #flat, 2 do
  local sku = flat[i]
  local e = cjson.decode(flat[i + 1])
  local pv = redis.call('HGET', k.pendingVer, sku)
  if pv and tonumber(pv) > tonumber(e.v) then
    e.v = pv
    e.s = redis.call('HGET', k.pending, sku)
    redis.call('HSET', bkey, sku, cjson.encode(e))
    redis.call('HDEL', k.pending, sku)
    redis.call('HDEL', k.pendingVer, sku)
    redis.call('ZREM', k.queue, sku)
  end
  out[#out + 1] = sku
  out[#out + 1] = e.s
  out[#out + 1] = e.v
end
return out
