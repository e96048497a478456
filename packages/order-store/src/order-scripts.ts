/**
 * Lua scripts over one order's keys (KEYS[1] record hash, KEYS[2] units hash). Each runs
 * atomically, so two pods working on the same order can never both win a transition.
 */

/** ARGV: notice JSON, fingerprint, unitCount, machineCode, now, ttlMs → 'created' | 'duplicate' | 'conflict' */
export const ACCEPT = `
local fp = redis.call('HGET', KEYS[1], 'fingerprint')
if fp then
  if fp == ARGV[2] then
    redis.call('HINCRBY', KEYS[1], 'duplicates', 1)
    return {'duplicate', redis.call('HGET', KEYS[1], 'state')}
  end
  redis.call('HINCRBY', KEYS[1], 'conflicts', 1)
  return {'conflict', redis.call('HGET', KEYS[1], 'state')}
end
redis.call('HSET', KEYS[1], 'notice', ARGV[1], 'fingerprint', ARGV[2], 'unitCount', ARGV[3],
  'machineCode', ARGV[4], 'state', 'accepted', 'acceptedAt', ARGV[5], 'duplicates', 0, 'conflicts', 0,
  'callbackAttempts', 0)
redis.call('PEXPIRE', KEYS[1], ARGV[6])
return {'created', 'accepted'}
`;

/** ARGV: unit index, now, ttlMs → the unit's JSON after the call (a recorded result is never replaced) */
export const MARK_ATTEMPTED = `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local raw = redis.call('HGET', KEYS[2], ARGV[1])
local unit
if raw then
  unit = cjson.decode(raw)
  if unit.s ~= 'attempted' then return raw end
  unit.n = unit.n + 1
  unit.at = tonumber(ARGV[2])
else
  unit = { s = 'attempted', n = 1, at = tonumber(ARGV[2]) }
end
local encoded = cjson.encode(unit)
redis.call('HSET', KEYS[2], ARGV[1], encoded)
if redis.call('HGET', KEYS[1], 'state') == 'accepted' then
  redis.call('HSET', KEYS[1], 'state', 'dispensing', 'dispensingAt', ARGV[2])
end
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return encoded
`;

/** ARGV: unit index, result JSON, ttlMs → the unit's JSON after the call (first result wins) */
export const RECORD_RESULT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local raw = redis.call('HGET', KEYS[2], ARGV[1])
if raw then
  local unit = cjson.decode(raw)
  if unit.s ~= 'attempted' then return raw end
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return ARGV[2]
`;

/**
 * ARGV: result JSON, outStatus, resolved unit count, now → {'final'|'already', result JSON}.
 * Refuses (returns 'incomplete') unless every unit has a result.
 */
export const FINALIZE = `
local existing = redis.call('HGET', KEYS[1], 'result')
if existing then return {'already', existing} end
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing', ''} end
local unitCount = tonumber(redis.call('HGET', KEYS[1], 'unitCount'))
local resolved = 0
for _, raw in ipairs(redis.call('HVALS', KEYS[2])) do
  local unit = cjson.decode(raw)
  if unit.s ~= 'attempted' then resolved = resolved + 1 end
end
if resolved < unitCount or tonumber(ARGV[3]) ~= unitCount then return {'incomplete', ''} end
redis.call('HSET', KEYS[1], 'result', ARGV[1], 'outStatus', ARGV[2], 'state', 'final', 'finalAt', ARGV[4])
return {'final', ARGV[1]}
`;

/** ARGV: now, error or '' , outcome ('attempt'|'reported'|'dead') */
export const CALLBACK_STATE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local state = redis.call('HGET', KEYS[1], 'state')
if ARGV[3] == 'reported' then
  if state ~= 'reported' then
    redis.call('HSET', KEYS[1], 'state', 'reported', 'reportedAt', ARGV[1])
    redis.call('HDEL', KEYS[1], 'deadAt')
  end
  return 'reported'
end
redis.call('HINCRBY', KEYS[1], 'callbackAttempts', 1)
redis.call('HSET', KEYS[1], 'callbackLastAttemptAt', ARGV[1], 'callbackLastError', ARGV[2])
if ARGV[3] == 'dead' and state ~= 'reported' then
  redis.call('HSET', KEYS[1], 'state', 'dead', 'deadAt', ARGV[1])
  return 'dead'
end
return state
`;

/** Puts a dead order back to final so its callback can be replayed. */
export const REVIVE = `
if redis.call('HGET', KEYS[1], 'state') ~= 'dead' then return false end
redis.call('HSET', KEYS[1], 'state', 'final')
redis.call('HDEL', KEYS[1], 'deadAt')
return 'final'
`;
