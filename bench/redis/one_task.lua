-- One task's Redis work for `stackdesk worker`, in one script, for redis-benchmark: the Redis-bound
-- ceiling of the worker benchmark's scaling curve. Each step is what our worker's own scripts and
-- commands do for one message (taskq's lua/receive.lua, lua/store_result.lua for STARTED and for
-- SUCCESS with the ack, and three PUBLISHed task events), plus the producer's LPUSH that puts the
-- message there. One script per task leaves out the cost of separate calls, so no client can
-- reach this line: it is where Redis alone stops.
-- KEYS: queue, unacked, unacked_index, result key
-- ARGV: envelope, STARTED meta, SUCCESS meta, event channel, event message
redis.call('LPUSH', KEYS[1], ARGV[1])
-- receive.lua
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local payload = redis.call('RPOP', KEYS[1])
local msg = cjson.decode(payload)
local tag = msg.properties.delivery_tag
redis.call('ZADD', KEYS[3], now, tag)
redis.call('HSET', KEYS[2], tag, '[' .. payload .. ', "", "celery"]')
-- store_result.lua: STARTED (nothing stored before it)
redis.call('GET', KEYS[4])
redis.call('SETEX', KEYS[4], 86400, ARGV[2])
redis.call('PUBLISH', KEYS[4], ARGV[2])
-- task-received, task-started, task-succeeded
for _ = 1, 3 do
  redis.call('PUBLISH', ARGV[4], ARGV[5])
end
-- store_result.lua: SUCCESS over STARTED, and the ack
local current = redis.call('GET', KEYS[4])
cjson.decode(current)
redis.call('SETEX', KEYS[4], 86400, ARGV[3])
redis.call('PUBLISH', KEYS[4], ARGV[3])
redis.call('ZREM', KEYS[3], tag)
redis.call('HDEL', KEYS[2], tag)
return 1
