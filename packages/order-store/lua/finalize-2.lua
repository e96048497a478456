--[[
  Writes an order's final result, once, when every unit has its result; optionally records the
  last unit's result in the same step (first result wins).

  KEYS[1] the order's record hash
  KEYS[2] the order's units hash
  ARGV[1] now (ms epoch)
  ARGV[2] how long the units are kept (ms; set when the units hash is created)
  ARGV[3] index of a unit whose result is recorded first, or '' for none
  ARGV[4] that result as JSON
  ARGV[5] the final result as JSON (the callback payload and the order/query answer)
  ARGV[6] its outStatus
  ARGV[7] the unit results the caller built it from: one letter per unit, S success, F failed

  Output: {outcome, result}:
    'final'      written now; result = ARGV[5]
    'already'    written earlier; result = the stored one (it never changes)
    'incomplete' some unit has no result yet; result = ''
    'mismatch'   a stored unit result differs from ARGV[7] (the caller read a stale state); ''
    'missing'    the order is not in the store; ''
    'reported'   reported and shrunk; result = its `lines` (the final result, compact), or ''
                 when it is packed (one string: the caller reads it)
]]
--- @include "includes/packed"

local expected = ARGV[7]
-- every unit's state in one read; the last result, when given, is written unless one is stored
local stored = redis.call('HGETALL', KEYS[2])
local states = {}
for i = 1, #stored, 2 do states[stored[i]] = cjson.decode(stored[i + 1]).s end
local existing
-- the unit recorded here stored `attempted` (the usual last step of a run): no final result yet
-- (a unit is open), not reported (the units hash goes with the report), and a mark moved the
-- order to `dispensing` and gave the units hash its expiry: the record is not read (its unit
-- count is the caller's, one letter per unit); the write below tells whether it is there
local unread = ARGV[3] ~= '' and states[ARGV[3]] == 'attempted'
-- (a stored unit past the caller's count: the record's count is read and compared)
for i = 1, #stored, 2 do
  if tonumber(stored[i]) >= string.len(expected) then unread = false end
end
if unread then
  existing = {false, false, string.len(expected), 'dispensing'}
else
  local packedOrder
  existing, packedOrder = onRecord('HMGET', KEYS[1], 'result', 'lines', 'unitCount', 'state')
  -- a reported order (packed: one string): the caller reads its result
  if packedOrder then return {'reported', ''} end
  if existing[1] then return {'already', existing[1]} end
  if existing[2] then return {'reported', existing[2]} end
  -- every record of an order on its way has its unit count: none means it is not in the store
  if not existing[3] then return {'missing', ''} end
end
local unitCount = tonumber(existing[3])
if ARGV[3] ~= '' then
  local s = states[ARGV[3]]
  if not s or s == 'attempted' then
    redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
    states[ARGV[3]] = cjson.decode(ARGV[4]).s
    -- the units hash gets its expiry when it is created (an order still `accepted`: no vend marked)
    if existing[4] == 'accepted' then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
  end
end
if string.len(expected) ~= unitCount then return {'mismatch', ''} end
for i = 1, unitCount do
  local s = states[tostring(i - 1)]
  if not s or s == 'attempted' then return {'incomplete', ''} end
  local letter = 'F'
  if s == 'success' then letter = 'S' end
  if letter ~= string.sub(expected, i, i) then return {'mismatch', ''} end
end
local added = redis.call('HSET', KEYS[1], 'result', ARGV[5], 'outStatus', ARGV[6], 'state', 'final', 'finalAt', ARGV[1])
-- a record on its way has its state: four fields new means there was no record (expired), and
-- this write is taken back
if unread and added == 4 then
  redis.call('DEL', KEYS[1])
  return {'missing', ''}
end
return {'final', ARGV[5]}
