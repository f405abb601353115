-- Pops up to ARGV[1] messages from the queue lists (KEYS[4..], in priority order) and records each
-- in kombu's ack-emulation structures in the same atomic step, so a popped message is never only
-- in a client's memory:
--   ZADD unacked_index <now, in whole seconds rounded up> <delivery_tag>
--   HSET unacked <delivery_tag> "[<envelope>, <exchange>, <routing_key>]"
-- A payload that is not a JSON envelope with a delivery tag cannot be recorded there (kombu's
-- restore would choke on it), so it goes straight to the dead-letter list instead.
-- A call that runs after ARGV[3] (epoch seconds by Redis's own clock) moves nothing: its client
-- has given up waiting by then (Redis was paused, say, and runs what queued up when it resumes), so
-- what it popped would sit in `unacked` with no worker holding it until the visibility timeout.
-- KEYS: unacked, unacked_index, dead_letter, queue keys...
-- ARGV: max messages, dead-letter cap, deadline (0: none)
-- Returns a list of {"ok", key, tag, payload} or {"dead", key, reason, payload}.
local unacked, index, dead = KEYS[1], KEYS[2], KEYS[3]
local max, dead_max, deadline = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3] or '0')
local out = {}
local now = redis_now()
if deadline > 0 and now > deadline then
  return out
end
-- The delivery tag and delivery_info of an envelope. kombu (and this library) writes
-- `properties` last, with no object in it but `delivery_info`, so its tail is read with one
-- anchored pattern; an envelope written any other way is decoded whole (cjson.decode costs Redis
-- twice as much for a 1 KB envelope).
local TAIL = '^"properties": {[^{}]*"delivery_info": {"exchange": "([^"\\]*)", "routing_key": "([^"\\]*)"'
  .. '[^{}]*}[^{}]*"delivery_tag": "([^"\\]+)"}}$'
local function addressing(payload)
  local from = string.find(payload, '"properties": {', math.max(1, #payload - 512), true)
  if from then
    local exchange, routing_key, tag = string.match(payload, TAIL, from)
    if tag then return true, tag, exchange, routing_key end
  end
  local ok, msg = pcall(cjson.decode, payload)
  if not (ok and type(msg) == 'table' and type(msg.properties) == 'table') then
    return ok
  end
  local info = msg.properties.delivery_info
  if type(info) == 'table' then
    return true, msg.properties.delivery_tag, info.exchange, info.routing_key
  end
  return true, msg.properties.delivery_tag
end

for i = 4, #KEYS do
  local key = KEYS[i]
  while #out < max do
    local payload = redis.call('RPOP', key)
    if not payload then break end
    local ok, tag, exchange, routing_key = addressing(payload)
    if type(tag) == 'string' and tag ~= '' then
      if type(exchange) ~= 'string' then exchange = '' end
      if type(routing_key) ~= 'string' then
        local sep = string.find(key, '\6\22', 1, true)
        routing_key = sep and string.sub(key, 1, sep - 1) or key
      end
      -- Whole seconds: Redis keeps a small sorted set as a packed list and compares each score
      -- on every insert, parsing it from text unless it is an integer (18 µs per ZADD with 64
      -- held, 5 µs in whole seconds). Rounded up, a message is never restored early; kombu reads
      -- the score only to compare it with `now - visibility_timeout`.
      redis.call('ZADD', index, math.ceil(now), tag)
      redis.call('HSET', unacked, tag,
        '[' .. payload .. ', ' .. cjson.encode(exchange) .. ', ' .. cjson.encode(routing_key) .. ']')
      out[#out + 1] = {'ok', key, tag, payload}
    else
      local reason
      if not ok then
        reason = 'payload is not JSON'
      else
        reason = 'not a kombu envelope: no properties.delivery_tag'
      end
      redis.call('LPUSH', dead, cjson.encode({reason = reason, queue = key, payload = payload, at = now}))
      redis.call('LTRIM', dead, 0, dead_max - 1)
      out[#out + 1] = {'dead', key, reason, payload}
    end
  end
  if #out >= max then break end
end
return out
