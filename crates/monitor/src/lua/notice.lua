-- Records tasks noticed in the queue that the history does not know yet (a producer that writes no
-- history and sends no task-sent event, e.g. a Python API's .delay()), as PENDING with their
-- arguments; fills in the arguments of a known task that has only their repr. Returns the ids it
-- created.
-- KEYS: history zset
-- ARGV: history key prefix, history cap, then per task: id, record JSON, sent_at, args JSON
local created = {}
for i = 3, #ARGV, 4 do
  local id, record, sent_at, args = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local key = ARGV[1] .. id
  local raw = redis.call('GET', key)
  if not raw then
    redis.call('SET', key, record)
    redis.call('ZADD', KEYS[1], 'NX', sent_at, id)
    created[#created + 1] = id
  else
    local known = cjson.decode(raw)
    if known.args_json == nil or known.args_json == cjson.null then
      known.args_json = args
      redis.call('SET', key, cjson.encode(known))
    end
  end
end
trim_history(KEYS[1], ARGV[2], ARGV[1])
return created
