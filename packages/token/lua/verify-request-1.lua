--[[
  Decides whether an inbound signature failure may ask for a verification refresh of the
  access token. Each granted request doubles the wait before the next one (base, 2*base, ...
  max); a verified inbound request resets it (the caller writes verifiedAt, granted 0,
  nextAllowedAt 0).

  Input:
    KEYS[1] the verification hash (verifiedAt, granted, nextAllowedAt, lastRequestAt)
    ARGV[1] now, epoch ms
    ARGV[2] quiet window, ms: a request verified within it means our tokens are fine
    ARGV[3] base wait, ms
    ARGV[4] longest wait, ms

  Output:
    'requested'         ask the keeper now (and the wait before the next doubles)
    'verified-recently' a request verified within the quiet window
    'rate-limited'      the previous verification refresh is too recent
]]
local now = tonumber(ARGV[1])
local verifiedAt = tonumber(redis.call('HGET', KEYS[1], 'verifiedAt') or '0')
if now - verifiedAt < tonumber(ARGV[2]) then return 'verified-recently' end
local nextAllowedAt = tonumber(redis.call('HGET', KEYS[1], 'nextAllowedAt') or '0')
if now < nextAllowedAt then return 'rate-limited' end
local granted = tonumber(redis.call('HINCRBY', KEYS[1], 'granted', 1))
local wait = tonumber(ARGV[3]) * (2 ^ (granted - 1))
if wait > tonumber(ARGV[4]) then wait = tonumber(ARGV[4]) end
redis.call('HSET', KEYS[1], 'nextAllowedAt', now + wait, 'lastRequestAt', now)
return 'requested'
