--[[
  An operator replays a dead-lettered batch (pnpm cli skus:replay): each SKU goes back to
  pending at the version it had, unless a newer version of it was accepted since (then the
  newer one is pending, in flight or already sent, and the dead one must not overwrite it).
  Keeping the old version is what makes this safe later too: a change enqueued after the dead
  one, even if it is consumed only after the replay, has a higher version and still wins.

  Input:
    KEYS[1..7] the buffer (includes/buffer-keys.lua)
    ARGV[1..]  triples: skuCode, SKU json, the version it carried in the dead batch

  Output:
    the skuCodes skipped because a newer version was accepted since (strings; empty = none)
]]
--- @include "includes/now-ms"
--- @include "includes/buffer-keys"
local now = nowMs()
local skipped = {}
for i = 1, #ARGV, 3 do
  local sku, json, vstr = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local seen = tonumber(redis.call('HGET', k.seen, sku) or '-1')
  if seen > tonumber(vstr) then
    skipped[#skipped + 1] = sku
  else
    redis.call('HSET', k.seen, sku, vstr)
    redis.call('HSET', k.pending, sku, json)
    redis.call('HSET', k.pendingVer, sku, vstr)
    redis.call('ZADD', k.queue, 'NX', now, sku)
  end
end
return skipped
