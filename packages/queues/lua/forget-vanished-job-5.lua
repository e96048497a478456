--[[
  Forgets a job whose hash vanished under it (deleted, evicted) while it was active: BullMQ can
  then neither complete nor fail it ("Missing key for job … moveToFinished"), and the stalled
  checker would bring it back as a hash with no name and no data. Removes what is left of it;
  acts only while the hash is still missing (a job added again under the same id is left alone).

  Input:
    KEYS[1] the job's hash
    KEYS[2] the queue's active list
    KEYS[3] the queue's stalled set
    KEYS[4] the job's lock
    KEYS[5] the job's log list
    ARGV[1] the job id

  Output:
    'forgotten' it was active and is gone now; 'absent' it was in no active list (its leftovers
    are deleted all the same); 'present' its hash exists: nothing changed
]]
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 'present'
end
local removed = redis.call('LREM', KEYS[2], 0, ARGV[1])
redis.call('SREM', KEYS[3], ARGV[1])
redis.call('DEL', KEYS[4], KEYS[5])
if removed > 0 then
  return 'forgotten'
end
return 'absent'
