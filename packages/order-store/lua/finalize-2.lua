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

local existing, packedOrder = onRecord('HMGET', KEYS[1], 'result', 'lines', 'unitCount', 'state')
-- a reported order (packed: one string): the caller reads its result
if packedOrder then return {'reported', ''} end
if existing[1] then return {'already', existing[1]} end
if existing[2] then return {'reported', existing[2]} end
-- every record of an order on its way has its unit count: none means it is not in the store
if not existing[3] then return {'missing', ''} end
local expected = ARGV[7]
local unitCount = tonumber(existing[3])
-- every unit's state in one read; the last result, when given, is written unless one is stored
local stored = redis.call('HGETALL', KEYS[2])
local states = {}
for i = 1, #stored, 2 do states[stored[i]] = cjson.decode(stored[i + 1]).s end
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
redis.call('HSET', KEYS[1], 'result', ARGV[5], 'outStatus', ARGV[6], 'state', 'final', 'finalAt', ARGV[1])
return {'final', ARGV[5]}
