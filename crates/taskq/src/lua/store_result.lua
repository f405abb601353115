-- Celery's result writes, for one or many tasks in one call, each as Celery does it: never
-- overwrite a SUCCESS (the guard `_store_result` does with a GET first), then SETEX (or SET when
-- there is no expiry) and PUBLISH on the key's own channel so `AsyncResult.get()` wakes at once.
-- Each may also acknowledge its message in the same step (acks_late: the ack comes after the
-- result is stored, and now cannot be separated from it).
-- A write that a later write of the same call replaces (a quick task's STARTED, then its SUCCESS)
-- is only published: nobody can read the key between the two (a script runs whole), so storing it
-- would cost Redis a GET and a SETEX for nothing, while a client waiting on the channel is still
-- told of every state, in order. The SUCCESS guard sees what the call itself wrote.
-- KEYS: unacked, unacked_index, then one result key per write
-- ARGV: TTL seconds (0: no expiry), then per write: meta JSON ("" stores nothing), delivery_tag
--       to ack ("" for none)
-- Returns, per write, 1 when stored, 0 when skipped.
local ttl = tonumber(ARGV[1])

-- Whether a stored meta is a SUCCESS. Celery and this worker write `status` first, so the text's
-- start tells; anything else written there is decoded.
local function is_success(current)
  if string.sub(current, 1, 12) == '{"status": "' then
    return string.sub(current, 13, 20) == 'SUCCESS"'
  end
  local ok, meta = pcall(cjson.decode, current)
  return ok and type(meta) == 'table' and meta.status == 'SUCCESS'
end

-- The last write of each key in this call: the earlier ones are replaced before the call ends.
local last = {}
for i = 3, #KEYS do
  if ARGV[2 * i - 4] ~= '' then last[KEYS[i]] = i end
end

-- What this call wrote to a key so far (read from Redis once, then kept here).
local written = {}
local out = {}
for i = 3, #KEYS do
  local key, meta, tag = KEYS[i], ARGV[2 * i - 4], ARGV[2 * i - 3]
  local stored = 0
  if meta ~= '' then
    local current = written[key]
    if current == nil then current = redis.call('GET', key) end
    if not (current and is_success(current)) then
      if last[key] == i then
        if ttl > 0 then
          redis.call('SETEX', key, ttl, meta)
        else
          redis.call('SET', key, meta)
        end
      end
      redis.call('PUBLISH', key, meta)
      written[key] = meta
      stored = 1
    end
  end
  if tag ~= '' then
    redis.call('ZREM', KEYS[2], tag)
    redis.call('HDEL', KEYS[1], tag)
  end
  out[#out + 1] = stored
end
return out
