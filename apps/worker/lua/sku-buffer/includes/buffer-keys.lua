-- The buffer's seven keys, always KEYS[1..7] in this order (all under the sku-sync hash tag).
local k = { pending = KEYS[1], pendingVer = KEYS[2], queue = KEYS[3], inflight = KEYS[4],
  leases = KEYS[5], seen = KEYS[6], batchSeq = KEYS[7] }
