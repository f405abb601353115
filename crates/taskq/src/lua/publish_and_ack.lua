-- A retry under acks_late: publish the next attempt and acknowledge this one in one step, so the
-- task is never both gone from `unacked` and missing from the queue, nor in both.
-- KEYS: queue list, unacked, unacked_index
-- ARGV: message JSON, delivery_tag to ack ("" for none)
redis.call('LPUSH', KEYS[1], ARGV[1])
if ARGV[2] ~= '' then
  redis.call('ZREM', KEYS[3], ARGV[2])
  redis.call('HDEL', KEYS[2], ARGV[2])
end
return 1
