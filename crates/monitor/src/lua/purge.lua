-- Empties the queue lists and returns what they held (so the API can mark those tasks REVOKED).
-- KEYS: the queue's lists (main and priority sub-queues)
local taken = {}
for _, key in ipairs(KEYS) do
  for _, payload in ipairs(redis.call('LRANGE', key, 0, -1)) do
    taken[#taken + 1] = payload
  end
  redis.call('DEL', key)
end
return taken
