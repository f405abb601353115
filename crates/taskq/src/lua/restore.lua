-- Puts one unacknowledged message back on its queue, if it is still unacknowledged (nobody acked
-- or restored it since the caller read it). Like kombu's restore transaction, minus the WATCH.
-- KEYS: unacked, unacked_index, target queue list
-- ARGV: delivery_tag, payload with the redelivered flags set, "R" (RPUSH: served next) or "L" (LPUSH: served last)
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[1], ARGV[1])
if ARGV[3] == 'L' then
  redis.call('LPUSH', KEYS[3], ARGV[2])
else
  redis.call('RPUSH', KEYS[3], ARGV[2])
end
return 1
