--[[
  owitho refused a batch for good: records it in the dead-letter list for inspection and
  forgets it like an acknowledged one.

  Input:
    KEYS[1..7] the buffer (includes/buffer-keys.lua)
    KEYS[8]    the dead-letter list
    ARGV[1] batch id
    ARGV[2] batch key
    ARGV[3] the record (JSON); the batch's entries are added under "skus" as
            {skuCode, version, sku}
    ARGV[4] how many records the list keeps (the newest)

  Output:
    1 when the batch was still ours, 0 when not (nothing recorded)
]]
--- @include "includes/buffer-keys"
local id, bkey = ARGV[1], ARGV[2]
if not redis.call('ZSCORE', k.leases, id) then return 0 end
local flat = redis.call('HGETALL', bkey)
local record = cjson.decode(ARGV[3])
local skus = {}
for i = 1, #flat, 2 do
  local sku = flat[i]
  local e = cjson.decode(flat[i + 1])
  skus[#skus + 1] = { skuCode = sku, version = e.v, sku = e.s }
  if redis.call('HGET', k.inflight, sku) == id then redis.call('HDEL', k.inflight, sku) end
end
record.skus = skus
redis.call('LPUSH', KEYS[8], cjson.encode(record))
redis.call('LTRIM', KEYS[8], 0, tonumber(ARGV[4]) - 1)
redis.call('DEL', bkey)
redis.call('ZREM', k.leases, id)
return 1
