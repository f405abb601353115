-- Creates a product in one step: takes its id from the counter, stores the product, queues its
-- notification task, records the task as PENDING in the history and announces the product. Never
-- a product without its task or a task without its product; and nothing at all, not even an id
-- taken, when Redis runs it after its deadline (it was paused, say): its client has given up and
-- answered 503 by then.
-- The texts hold a placeholder where the id goes (ARGV[9]: digits found nowhere else in them), and
-- the task envelope one where its base64 body goes (ARGV[10]). The body comes already encoded, in
-- two parts around a slot of 21 bytes that starts on a 3-byte boundary: only the slot (the id and
-- the spaces after it, whitespace JSON allows) is encoded here.
-- KEYS: id counter, products zset, queue list, _kombu.binding.<q>, _kombu.binding_permanent.<q>,
--       history record key, history zset
-- ARGV: 1 deadline (epoch seconds, Redis's clock), 2 product key prefix, 3 product JSON,
--       4 base64 of the body before the id, 5 task envelope JSON, 6 binding member,
--       7 history record JSON, 8 sent_at, 9 id placeholder, 10 body placeholder, 11 task id,
--       12 history cap, 13 history key prefix, 14 product channel, 15 base64 of the body after
--       the id's slot
-- The product's own key (ARGV[2] .. id) is not among KEYS: its name depends on the id taken here.
-- Fine on one Redis (not a cluster).
-- Returns the new product's id, or 0 past the deadline.
if past_deadline(ARGV[1]) then
  return 0
end

local SLOT = 21
local alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
local function digit(d)
  return string.sub(alphabet, d + 1, d + 1)
end
-- Base64 of a text whose length is a multiple of 3 (no padding).
local function base64(data)
  local out = {}
  for i = 1, #data, 3 do
    local a, b, c = string.byte(data, i, i + 2)
    local n = a * 65536 + b * 256 + c
    out[#out + 1] = digit(math.floor(n / 262144)) .. digit(math.floor(n / 4096) % 64)
      .. digit(math.floor(n / 64) % 64) .. digit(n % 64)
  end
  return table.concat(out)
end

local id = string.format('%d', redis.call('INCR', KEYS[1]))
local function filled(text)
  -- The placeholder is digits only: no pattern magic in it, and none in the id replacing it.
  return (string.gsub(text, ARGV[9], id))
end
local product = filled(ARGV[3])
local body = ARGV[4] .. base64(id .. string.rep(' ', SLOT - #id)) .. ARGV[15]
local envelope = filled(ARGV[5])
local at = string.find(envelope, ARGV[10], 1, true)
envelope = string.sub(envelope, 1, at - 1) .. body .. string.sub(envelope, at + #ARGV[10])

redis.call('SET', ARGV[2] .. id, product)
redis.call('ZADD', KEYS[2], id, id)
redis.call('SADD', KEYS[4], ARGV[6])
redis.call('SADD', KEYS[5], ARGV[6])
redis.call('LPUSH', KEYS[3], envelope)
redis.call('SET', KEYS[6], filled(ARGV[7]))
redis.call('ZADD', KEYS[7], ARGV[8], ARGV[11])
trim_history(KEYS[7], ARGV[12], ARGV[13])
redis.call('PUBLISH', ARGV[14], product)
return tonumber(id)
