--[[
  Counts one access-token fetch that owitho may have counted: a token came back, or we cannot
  tell (network error, timeout, 5xx). Counted after the fetch; an attempt owitho refused for its
  credentials issued nothing and is not counted. The quota is checked before the fetch.

  Input:
    KEYS[1] today's fetch counter
    ARGV[1] the counter's time to live, ms

  Output:
    the count after this fetch
]]
local used = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return used
