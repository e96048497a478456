--[[
  Records what happened to a callback delivery.

  KEYS[1] the order's record hash
  KEYS[2] the order's units hash
  KEYS[3] the order's timeline list
  ARGV[1] now (ms epoch)
  ARGV[2] the delivery's error ('' when it was delivered)
  ARGV[3] outcome: 'attempt' (failed, will be retried), 'dead' (given up on), 'reported'
          (owitho answered 200)
  ARGV[4] the orderViewId (a vend event's own vendId is left out of the packed timeline)
  ARGV[5] on 'reported': the most timeline events kept ('' or 0: no cap)
  ARGV[6..] on 'reported': timeline events not written yet (compact JSON arrays, as the list holds
          them), packed after the list's own: the run that delivered the callback hands its
          events to the report instead of writing the list first

  Output: {before, after}: the order's state before and after the call; false when the order is
  not in the store. A report of an order that was ever dead-lettered (dead now, or revived for a
  replay) answers {before, 'reported', 'dead'}: only then is the dead-letters index touched. ARGV[6..] are taken unless before is 'reported' (the caller appends them).

  Once reported, the order shrinks to what deduplication, order/query and the order pages need
  (see order-packed.ts, ReportedOrder): the record becomes one string (includes/packed.lua): the first
  72 bits of the fingerprint, the times, the counts, the last failed delivery's error (its first 60
  bytes), what the notice said about money and payment, each unit's slot, SKU, status and failure
  reason, and the timeline's events; the units hash and the timeline list go. It keeps its expiry.
  A record already packed is left as it is (a callback delivered again by a replay: the timeline
  keeps the delivery).
]]
--- @include "includes/packed"

-- every record has a state: none means the order is not in the store
-- (the fields a report packs, read in the same call: one read whatever the outcome)
local f, packedOrder = onRecord('HMGET', KEYS[1], 'result', 'fingerprint', 'acceptedAt', 'machineCode', 'finalAt',
  'callbackAttempts', 'duplicates', 'conflicts', 'callbackLastAttemptAt', 'callbackLastError', 'notice', 'state', 'revived')
if packedOrder then return {'reported', 'reported'} end
local state = f[12]
if not state then return false end
if ARGV[3] == 'reported' then
  if state == 'reported' then return {state, 'reported'} end
  -- {before, 'reported'}, with 'dead' when the order was ever a dead letter
  local answer = {state, 'reported'}
  if state == 'dead' or f[13] then answer[3] = 'dead' end
  if not f[1] then
    -- not final (cannot happen through the callback job): only the state changes; the events go
    -- to the list, which expires with the record
    redis.call('HSET', KEYS[1], 'state', 'reported', 'reportedAt', ARGV[1])
    if #ARGV > 5 then
      redis.call('RPUSH', KEYS[3], unpack(ARGV, 6))
      local ttl = redis.call('PTTL', KEYS[1])
      if ttl > 0 then redis.call('PEXPIRE', KEYS[3], ttl) end
    end
    return answer
  end
  local result = cjson.decode(f[1])
  local details = result.outDetailList
  -- failure reasons (by unit index, 0-based), read only when some unit failed
  local reasons = {}
  for _, d in ipairs(details) do
    if d.status ~= 200 then
      local stored = redis.call('HGETALL', KEYS[2])
      for i = 1, #stored, 2 do
        local unit = cjson.decode(stored[i + 1])
        if unit.s == 'failed' then reasons[tonumber(stored[i])] = clean(unit.reason) end
      end
      break
    end
  end
  -- one run per slot, SKU (and failure reason): RS slotNum US skuCode US 'S'/'F' per unit [US reason]
  local runs = {}
  local last
  for i, d in ipairs(details) do
    local letter = 'F'
    local reason
    if d.status == 200 then letter = 'S' else reason = reasons[i - 1] or '' end
    local slot, sku = clean(d.slotNum), clean(d.skuCode)
    if last and last[1] == slot and last[2] == sku and (not reason or not last[4] or last[4] == reason) then
      last[3] = last[3] .. letter
      if reason then last[4] = reason end
    else
      last = {slot, sku, letter}
      if reason then last[4] = reason end
      runs[#runs + 1] = last
    end
  end
  local lines = {}
  for i, run in ipairs(runs) do lines[i] = RS .. joined(run) end
  -- what the notice said about money and payment, as stored (exact wire money)
  local n = {}
  if f[11] then n = cjson.decode(f[11]) end
  local actual = clean(n.actualAmount)
  local origin = clean(n.originAmount)
  if origin == actual then origin = '' end
  local discount = clean(n.discountMoney)
  if discount == '0.00' then discount = '' end
  local pay = {n.payMethod, n.payStatus, n.refundStatus}
  local payField = ''
  local digits = true
  for i = 1, 3 do
    pay[i] = tostring(pay[i] or '')
    if not string.match(pay[i], '^%d$') then digits = false end
  end
  if digits then payField = table.concat(pay) else payField = table.concat(pay, ',') end
  local acceptedAt = tonumber(f[3]) or 0
  local function delta(value)
    if not value or value == '' then return '' end
    return b36(tonumber(value) - acceptedAt)
  end
  local function count(value)
    if not value or value == '' or value == '0' then return '' end
    return value
  end
  -- reported after final: its time as a difference from finalAt (shorter)
  local reportedAt = delta(ARGV[1])
  if f[5] and f[5] ~= '' then reportedAt = b36(tonumber(ARGV[1]) - tonumber(f[5])) end
  -- the usual empty fields last, where they take no byte
  local header = joined({b36(acceptedAt), clean(f[4]), actual, payField, delta(f[5]), reportedAt,
    count(f[6]), delta(f[9]), clean(f[10], 60), count(f[7]), count(f[8]), origin, discount})
  -- the timeline's events, the usual answers left out
  local listed = redis.call('LRANGE', KEYS[3], 0, -1)
  for i = 6, #ARGV do listed[#listed + 1] = ARGV[i] end
  -- the newest events, as the list keeps them
  local max = tonumber(ARGV[5]) or 0
  local first = 1
  if max > 0 and #listed > max then first = #listed - max + 1 end
  local events = {}
  for i = first, #listed do
    local e = listEvent(listed[i])
    if e then events[#events + 1] = e end
  end
  local packedEvents = packEvents(events, acceptedAt,
    {orderViewId = ARGV[4], reasons = reasons, outStatus = result.outStatus})
  local packed = '2' .. fingerprint72(f[2]) .. US .. header .. table.concat(lines) .. packedEvents
  redis.call('DEL', KEYS[2], KEYS[3])
  redis.call('SET', KEYS[1], packed, 'KEEPTTL')
  return answer
end
redis.call('HINCRBY', KEYS[1], 'callbackAttempts', 1)
redis.call('HSET', KEYS[1], 'callbackLastAttemptAt', ARGV[1], 'callbackLastError', ARGV[2])
if ARGV[3] == 'dead' and state ~= 'reported' then
  redis.call('HSET', KEYS[1], 'state', 'dead', 'deadAt', ARGV[1])
  return {state, 'dead'}
end
return {state, state}
