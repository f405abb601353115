-- Releases kombu's unacked_mutex only if we still hold it (compare-and-delete).
-- KEYS: mutex key; ARGV: our token
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
