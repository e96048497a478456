--[[
  One step of the dispense loop, in one round trip: records the result of the unit just settled
  (if any; the first result recorded wins, forever) and marks the next unit `attempted` (if any)
  before its vend request leaves. The first vend of an order moves it from `accepted` to
  `dispensing`.

  KEYS[1] the order's record hash
  KEYS[2] the order's units hash
  ARGV[1] now (ms epoch)
  ARGV[2] how long the units are kept (ms; set when the units hash is created)
  ARGV[3] index of the unit whose result is recorded, or '' for none
  ARGV[4] that result as JSON ({"s":"success","at":…} or {"s":"failed","reason":…,"at":…})
  ARGV[5] index of the unit to mark attempted, or '' for none

  Output: {recorded, marked}: the recorded unit's JSON after the call (its first result) and the
  marked unit's JSON after the call (attempted with its attempt count n, or the result it already
  had, which must not be vended again); '' where nothing was asked. false when the order is not
  in the store; {'reported', 'reported'} when the order is reported and packed (nothing written).
]]
--- @include "includes/packed"

local recorded = ''
local marked = ''
-- both units read in one call, written in one call
local raws
local state = 'dispensing'
-- a unit recorded that is stored `attempted`: some mark wrote it, and the mark of an order still
-- `accepted` moved it to `dispensing` and gave the units hash its expiry; the units hash goes
-- when the order is reported (packed). So the order is on its way and dispensing: its state
-- is not read (the next step of a run: one read fewer)
if ARGV[3] ~= '' then
  raws = redis.call('HMGET', KEYS[2], ARGV[3], ARGV[5] ~= '' and ARGV[5] or ARGV[3])
  if not (raws[1] and cjson.decode(raws[1]).s == 'attempted') then state = nil end
else
  state = nil
end
if not state then
  -- every record has a state: none means the order is not in the store
  local packedOrder
  state, packedOrder = onRecord('HGET', KEYS[1], 'state')
  -- a reported order (packed: one string) has every unit's result: the caller reads them
  if packedOrder then return {'reported', 'reported'} end
  if not state then return false end
  if ARGV[3] == '' and ARGV[5] == '' then return {recorded, marked} end
  if not raws then raws = redis.call('HMGET', KEYS[2], ARGV[5], ARGV[5]) end
end
local writes = {}
if ARGV[3] ~= '' then
  local raw = raws[1]
  if raw and cjson.decode(raw).s ~= 'attempted' then
    recorded = raw
  else
    writes[#writes + 1] = ARGV[3]
    writes[#writes + 1] = ARGV[4]
    recorded = ARGV[4]
  end
end
if ARGV[5] ~= '' then
  local raw = raws[2]
  -- the same unit recorded and marked: the mark sees the result just recorded
  if ARGV[5] == ARGV[3] then raw = recorded end
  local unit
  if raw then unit = cjson.decode(raw) end
  if unit and unit.s ~= 'attempted' then
    marked = raw
  else
    local n = 1
    if unit then n = unit.n + 1 end
    marked = cjson.encode({ s = 'attempted', n = n, at = tonumber(ARGV[1]) })
    writes[#writes + 1] = ARGV[5]
    writes[#writes + 1] = marked
    if state == 'accepted' then
      redis.call('HSET', KEYS[1], 'state', 'dispensing')
    end
  end
end
if #writes > 0 then redis.call('HSET', KEYS[2], unpack(writes)) end
-- the units hash gets its expiry when it is created: by the first write of an order still
-- `accepted` (its first vend's mark, or a result recorded without a vend)
if state == 'accepted' and (recorded ~= '' or marked ~= '') then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
return {recorded, marked}
