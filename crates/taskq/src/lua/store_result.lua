-- Celery's result write, atomically: never overwrite a SUCCESS (the guard `_store_result` does with
-- a GET first), then SETEX (or SET when there is no expiry) and PUBLISH on the key's own channel so
-- `AsyncResult.get()` wakes at once. Optionally acknowledges the message in the same step (acks_late:
-- the ack comes after the result is stored, and now cannot be separated from it).
-- KEYS: result key, unacked, unacked_index
-- ARGV: meta JSON ("" stores nothing), TTL seconds (0: no expiry), delivery_tag to ack ("" for none)
-- Returns 1 when stored, 0 when skipped.
local stored = 0
if ARGV[1] ~= '' then
  local current = redis.call('GET', KEYS[1])
  local done = false
  if current then
    local ok, meta = pcall(cjson.decode, current)
    done = ok and type(meta) == 'table' and meta.status == 'SUCCESS'
  end
  if not done then
    local ttl = tonumber(ARGV[2])
    if ttl > 0 then
      redis.call('SETEX', KEYS[1], ttl, ARGV[1])
    else
      redis.call('SET', KEYS[1], ARGV[1])
    end
    redis.call('PUBLISH', KEYS[1], ARGV[1])
    stored = 1
  end
end
if ARGV[3] ~= '' then
  redis.call('ZREM', KEYS[3], ARGV[3])
  redis.call('HDEL', KEYS[2], ARGV[3])
end
return stored
