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
]]
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local state = redis.call('HGET', KEYS[1], 'state')
if ARGV[3] == 'reported' then
  if state ~= 'reported' then
    redis.call('HSET', KEYS[1], 'state', 'reported', 'reportedAt', ARGV[1])
    redis.call('HDEL', KEYS[1], 'deadAt')
  end
  return {state, 'reported'}
end
redis.call('HINCRBY', KEYS[1], 'callbackAttempts', 1)
redis.call('HSET', KEYS[1], 'callbackLastAttemptAt', ARGV[1], 'callbackLastError', ARGV[2])
if ARGV[3] == 'dead' and state ~= 'reported' then
  redis.call('HSET', KEYS[1], 'state', 'dead', 'deadAt', ARGV[1])
  return {state, 'dead'}
end
return {state, state}
