-- Moves an unacknowledged message to the dead-letter list in one step.
-- KEYS: unacked, unacked_index, dead_letter
-- ARGV: delivery_tag, record (JSON), dead-letter cap
redis.call('ZREM', KEYS[2], ARGV[1])
local removed = redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('LPUSH', KEYS[3], ARGV[2])
redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[3]) - 1)
return removed
