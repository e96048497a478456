--[[
  returnBatch(k, bkey, id): puts a batch's entries back to pending unless a newer version of
  the SKU was accepted since (then the newer one is pending, or already sent), frees its SKUs
  and drops the batch. Returns how many entries went back.
  A batch entry is cjson {v = version, t = pending since (ms), s = SKU json}.
]]
local function returnBatch(k, bkey, id)
  local flat = redis.call('HGETALL', bkey)
  local back = 0
  for i = 1, #flat, 2 do
    local sku = flat[i]
    local e = cjson.decode(flat[i + 1])
    if redis.call('HGET', k.inflight, sku) == id then redis.call('HDEL', k.inflight, sku) end
    local seen = tonumber(redis.call('HGET', k.seen, sku) or '-1')
    if seen == tonumber(e.v) and redis.call('HEXISTS', k.pending, sku) == 0 then
      redis.call('HSET', k.pending, sku, e.s)
      redis.call('HSET', k.pendingVer, sku, e.v)
      redis.call('ZADD', k.queue, e.t, sku)
      back = back + 1
    elseif redis.call('HEXISTS', k.pending, sku) == 1 then
      -- a newer change waits: it has waited at least since this one did
      redis.call('ZADD', k.queue, 'LT', e.t, sku)
    end
  end
  redis.call('DEL', bkey)
  redis.call('ZREM', k.leases, id)
  return back
end
