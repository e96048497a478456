--[[
  Gives a held batch back to pending now (at shutdown), so another pod need not wait for its
  lease.

  Input:
    KEYS[1..7] the buffer (includes/buffer-keys.lua)
    ARGV[1] batch id
    ARGV[2] batch key

  Output:
    how many entries went back to pending; -1 when the batch was no longer ours
]]
--- @include "includes/buffer-keys"
--- @include "includes/return-batch"
if not redis.call('ZSCORE', k.leases, ARGV[1]) then return -1 end
return returnBatch(k, ARGV[2], ARGV[1])
