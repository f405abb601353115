-- A retry under acks_late: publish the next attempt and acknowledge this one in one step, so the
-- task is never both gone from `unacked` and missing from the queue, nor in both.
-- With a tag to ack, it acts only while that tag is still unacknowledged, so repeating it (after a
-- lost connection) cannot publish the retry twice.
-- KEYS: queue list, unacked, unacked_index
-- ARGV: message JSON, delivery_tag to ack ("" for none)
if ARGV[2] ~= '' then
  if redis.call('HDEL', KEYS[2], ARGV[2]) == 0 then
    return 0
  end
  redis.call('ZREM', KEYS[3], ARGV[2])
end
redis.call('LPUSH', KEYS[1], ARGV[1])
return 1
