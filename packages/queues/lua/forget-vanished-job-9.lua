--[[
  Forgets a job whose hash vanished (deleted, evicted) while its id still sits in a queue list:
  BullMQ can then neither complete nor fail it ("Missing key for job … moveToFinished"), the
  stalled checker would bring an active one back as a hash with no name and no data, and a job
  added again under the same id would be run twice (once per entry). Removes every entry of the
  id and what is left of the job; acts only while the hash is still missing (a job that exists
  is left alone).

  Input:
    KEYS[1] the job's hash
    KEYS[2] the queue's active list
    KEYS[3] the queue's wait list
    KEYS[4] the queue's paused list
    KEYS[5] the queue's delayed zset
    KEYS[6] the queue's prioritized zset
    KEYS[7] the queue's stalled set
    KEYS[8] the job's lock
    KEYS[9] the job's log list
    ARGV[1] the job id
    ARGV[2] 'ended': the worker that held the job is done with it (its lock goes too);
            'unheld': only if no worker holds the job's lock

  Output:
    'forgotten' the id was in a list and is gone now; 'absent' it was in none (leftovers are
    deleted all the same); 'present' its hash exists: nothing changed; 'held' (unheld only) a
    worker still holds its lock: nothing changed, that worker's end will report it
]]
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 'present'
end
if ARGV[2] == 'unheld' and redis.call('EXISTS', KEYS[8]) == 1 then
  return 'held'
end
local id = ARGV[1]
local removed = redis.call('LREM', KEYS[2], 0, id)
  + redis.call('LREM', KEYS[3], 0, id)
  + redis.call('LREM', KEYS[4], 0, id)
  + redis.call('ZREM', KEYS[5], id)
  + redis.call('ZREM', KEYS[6], id)
redis.call('SREM', KEYS[7], id)
redis.call('DEL', KEYS[8], KEYS[9])
if removed > 0 then
  return 'forgotten'
end
return 'absent'
