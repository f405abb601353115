-- Sends a finished task again as a new task, once: links the two records both ways and queues the
-- new message in one step. A task already retried is not sent again (returns {0, its retry's id}),
-- so two clicks (or twenty concurrent requests) make one retry.
-- KEYS: old record key, new record key, history zset, queue list
-- ARGV: old id, new id, new record JSON, sent_at, message JSON, history cap, history key prefix
local raw = redis.call('GET', KEYS[1])
local old
if raw then
  old = cjson.decode(raw)
  if type(old.retried_as) == 'string' then
    return {0, old.retried_as}
  end
else
  old = {task_id = ARGV[1]}
end
old.retried_as = ARGV[2]
redis.call('SET', KEYS[1], cjson.encode(old))
redis.call('SET', KEYS[2], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[2])
redis.call('LPUSH', KEYS[4], ARGV[5])
trim_history(KEYS[3], ARGV[6], ARGV[7])
return {1, ARGV[2]}
