--[[
  Accepts an order notice: creates the record the first time; a later notice with the same fingerprint is a duplicate, one with
  another fingerprint a conflict. Neither changes the order (only its duplicate/conflict counter).

  KEYS[1] the order's record hash ({order:<id>}:record)
  KEYS[2] the order's units hash ({order:<id>}:units) (unused; named so every order script has the same keys)
  ARGV[1] the notice as JSON
  ARGV[2] its fingerprint (sha-256 of its canonical JSON)
  ARGV[3] its unit count
  ARGV[4] its machineCode
  ARGV[5] now (ms epoch)
  ARGV[6] how long the record is kept (ms)

  Output: {outcome, state}: outcome 'created' | 'duplicate' | 'conflict', state the order's
  state after the call.

  A reported order is one packed string (includes/packed.lua) that keeps the first 72 bits of the
  fingerprint and the two counts.
]]
--- @include "includes/packed"

local fp, packedOrder = onRecord('HGET', KEYS[1], 'fingerprint')
if packedOrder then
  local packed = redis.call('GET', KEYS[1])
  local outcome = 'conflict'
  if string.sub(packed, 2, 13) == fingerprint72(ARGV[2]) then outcome = 'duplicate' end
  redis.call('SET', KEYS[1], withCount(packed, outcome == 'duplicate' and 'duplicates' or 'conflicts'), 'KEEPTTL')
  return {outcome, 'reported'}
end
if fp then
  local outcome = 'conflict'
  -- a reported order keeps only the first 128 bits of its fingerprint
  if fp == ARGV[2] or (#fp == 32 and fp == string.sub(ARGV[2], 1, 32)) then outcome = 'duplicate' end
  redis.call('HINCRBY', KEYS[1], outcome == 'duplicate' and 'duplicates' or 'conflicts', 1)
  return {outcome, redis.call('HGET', KEYS[1], 'state')}
end
-- counters that are still 0 are not written (absent = 0): a smaller record
redis.call('HSET', KEYS[1], 'notice', ARGV[1], 'fingerprint', ARGV[2], 'unitCount', ARGV[3],
  'machineCode', ARGV[4], 'state', 'accepted', 'acceptedAt', ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
return {'created', 'accepted'}
