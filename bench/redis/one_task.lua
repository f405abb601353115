-- One task's Redis work for `stackdesk worker`, in one script, for redis-benchmark: the Redis-bound
-- ceiling of the worker benchmark's scaling curve. Each step is what our worker's own scripts and
-- commands do for one message as they stand (taskq's lua/receive.lua: the delivery tag read off
-- the envelope's tail, the index scored in whole seconds; lua/store_result.lua: STARTED and
-- SUCCESS with the ack in one call, so STARTED is published, not stored, and the SUCCESS guard
-- reads the status prefix; the three task events as one `task.multi` PUBLISH), plus the
-- producer's LPUSH that puts the message there.
-- It is one task per call. The worker's calls carry several tasks at once under load (a receive
-- takes up to half its prefetch, a result call the writes of every task that finished together),
-- which costs Redis less per task than this: at high concurrency a worker can pass this line.
-- KEYS: queue, unacked, unacked_index, result key
-- ARGV: envelope, STARTED meta, SUCCESS meta, event channel, event message
redis.call('LPUSH', KEYS[1], ARGV[1])
-- receive.lua
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local payload = redis.call('RPOP', KEYS[1])
local TAIL = '^"properties": {[^{}]*"delivery_info": {"exchange": "([^"\\]*)", "routing_key": "([^"\\]*)"'
  .. '[^{}]*}[^{}]*"delivery_tag": "([^"\\]+)"}}$'
local from = string.find(payload, '"properties": {', math.max(1, #payload - 512), true)
local exchange, routing_key, tag = string.match(payload, TAIL, from)
redis.call('ZADD', KEYS[3], math.ceil(now), tag)
redis.call('HSET', KEYS[2], tag, '[' .. payload .. ', ' .. cjson.encode(exchange) .. ', ' .. cjson.encode(routing_key) .. ']')
-- task-received, task-started, task-succeeded: one task.multi message
redis.call('PUBLISH', ARGV[4], ARGV[5])
-- store_result.lua: STARTED (published only: the SUCCESS of the same call replaces it), then
-- SUCCESS with the guard and the ack
local current = redis.call('GET', KEYS[4])
if not (current and string.sub(current, 13, 20) == 'SUCCESS"') then
  redis.call('PUBLISH', KEYS[4], ARGV[2])
  redis.call('SETEX', KEYS[4], 86400, ARGV[3])
  redis.call('PUBLISH', KEYS[4], ARGV[3])
end
redis.call('ZREM', KEYS[3], tag)
redis.call('HDEL', KEYS[2], tag)
-- Each task writes a new result key: gone again, the next call's guard finds nothing stored.
redis.call('DEL', KEYS[4])
return 1
