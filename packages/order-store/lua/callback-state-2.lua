--[[
  Records what happened to a callback delivery.

  KEYS[1] the order's record hash
  KEYS[2] the order's units hash
  ARGV[1] now (ms epoch)
  ARGV[2] the delivery's error ('' when it was delivered)
  ARGV[3] outcome: 'attempt' (failed, will be retried), 'dead' (given up on), 'reported'
          (owitho answered 200)

  Output: {before, after}: the order's state before and after the call; false when the order is
  not in the store.

  Once reported, the order shrinks to what deduplication and order/query need (see
  order-record.ts, ReportedOrder): the record is written anew (deleting fields would leave Redis's
  larger hash encoding in place) with the first 128 bits of the fingerprint, the times, the counts,
  the last failed delivery's error (its first 60 bytes), `paid` (the notice's amounts, payMethod,
  payStatus and refundStatus) and `lines`, each unit's slot, SKU, status and failure reason; the
  units hash goes. It keeps its expiry. Every value stays within Redis's default
  hash-max-listpack-value (64 bytes) for orders of a few lines, so the hash keeps its compact encoding.
]]
-- every record has a state: none means the order is not in the store
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return false end
if ARGV[3] == 'reported' then
  if state == 'reported' then return {state, 'reported'} end
  local f = redis.call('HMGET', KEYS[1], 'result', 'fingerprint', 'acceptedAt', 'machineCode', 'finalAt',
    'callbackAttempts', 'duplicates', 'conflicts', 'callbackLastAttemptAt', 'callbackLastError', 'notice')
  if not f[1] then
    -- not final (cannot happen through the callback job): only the state changes
    redis.call('HSET', KEYS[1], 'state', 'reported', 'reportedAt', ARGV[1])
    return {state, 'reported'}
  end
  local details = cjson.decode(f[1]).outDetailList
  -- failure reasons, read only when some unit failed
  local reasons = {}
  for _, d in ipairs(details) do
    if d.status ~= 200 then
      local stored = redis.call('HGETALL', KEYS[2])
      for i = 1, #stored, 2 do
        local unit = cjson.decode(stored[i + 1])
        if unit.s == 'failed' then reasons[tonumber(stored[i]) + 1] = unit.reason end
      end
      break
    end
  end
  -- one entry per run of units with the same slot, SKU (and failure reason):
  -- {slotNum, skuCode, 'S'/'F' per unit[, the reason of its failed units]}
  local lines = {}
  local last
  for i, d in ipairs(details) do
    local letter = 'F'
    local reason
    if d.status == 200 then letter = 'S' else reason = reasons[i] or '' end
    if last and last[1] == d.slotNum and last[2] == d.skuCode and (not reason or not last[4] or last[4] == reason) then
      last[3] = last[3] .. letter
      if reason then last[4] = reason end
    else
      last = {d.slotNum, d.skuCode, letter}
      if reason then last[4] = reason end
      lines[#lines + 1] = last
    end
  end
  -- what the notice said about money and payment, as stored (exact wire money)
  local paid = '[]'
  if f[11] then
    local n = cjson.decode(f[11])
    paid = cjson.encode({n.actualAmount, n.originAmount, n.discountMoney, n.payMethod, n.payStatus, n.refundStatus})
  end
  local ttl = redis.call('PTTL', KEYS[1])
  local fields = {'state', 'reported', 'reportedAt', ARGV[1], 'fingerprint', string.sub(f[2] or '', 1, 32),
    'acceptedAt', f[3], 'machineCode', f[4], 'lines', cjson.encode(lines), 'paid', paid}
  local optional = {'finalAt', 'callbackAttempts', 'duplicates', 'conflicts', 'callbackLastAttemptAt',
    'callbackLastError'}
  for i, name in ipairs(optional) do
    local value = f[i + 4]
    if value and value ~= '' then
      fields[#fields + 1] = name
      -- the last failed delivery's error, cut to a size that keeps the compact encoding
      fields[#fields + 1] = string.sub(value, 1, 60)
    end
  end
  redis.call('DEL', KEYS[1], KEYS[2])
  redis.call('HSET', KEYS[1], unpack(fields))
  if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
  return {state, 'reported'}
end
redis.call('HINCRBY', KEYS[1], 'callbackAttempts', 1)
redis.call('HSET', KEYS[1], 'callbackLastAttemptAt', ARGV[1], 'callbackLastError', ARGV[2])
if ARGV[3] == 'dead' and state ~= 'reported' then
  redis.call('HSET', KEYS[1], 'state', 'dead', 'deadAt', ARGV[1])
  return {state, 'dead'}
end
return {state, state}
