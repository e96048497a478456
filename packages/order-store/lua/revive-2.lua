--[[
  Puts a dead order back to `final`, so that its callback can be replayed. It keeps a mark
  (`revived`) that it was dead: the report then takes it out of the dead-letters index too, even
  when the process died between this call and its own bookkeeping.

  KEYS[1] the order's record hash
  KEYS[2] the order's units hash (unused)

  Output: 'final' when the order was dead, false otherwise.
]]
--- @include "includes/packed"

-- a reported order (packed: one string) is not dead
local state = onRecord('HGET', KEYS[1], 'state')
if state ~= 'dead' then return false end
redis.call('HSET', KEYS[1], 'state', 'final', 'revived', '1')
redis.call('HDEL', KEYS[1], 'deadAt')
return 'final'
