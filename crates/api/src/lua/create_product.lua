-- Stores a product, queues its notification task, records the task as PENDING in the history and
-- announces the product, all in one step: never a product without its task or a task without its
-- product.
-- KEYS: product key, products zset, queue list, _kombu.binding.<q>, _kombu.binding_permanent.<q>,
--       history record key, history zset
-- ARGV: product id, product JSON, task message JSON, binding member, history record JSON, sent_at,
--       task id, history cap, history key prefix, product channel
redis.call('SET', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[1])
redis.call('SADD', KEYS[4], ARGV[4])
redis.call('SADD', KEYS[5], ARGV[4])
redis.call('LPUSH', KEYS[3], ARGV[3])
redis.call('SET', KEYS[6], ARGV[5])
redis.call('ZADD', KEYS[7], ARGV[6], ARGV[7])
trim_history(KEYS[7], ARGV[8], ARGV[9])
redis.call('PUBLISH', ARGV[10], ARGV[2])
return 1
