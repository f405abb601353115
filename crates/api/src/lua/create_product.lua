-- Creates a product in one step: takes its id from the counter, stores the product, queues its
-- notification task, records the task as PENDING in the history and announces the product. Never
-- a product without its task or a task without its product; and nothing at all, not even an id
-- taken, when Redis runs it after its deadline (it was paused, say): its client has given up and
-- answered 503 by then.
-- Every text comes in the pieces the id goes between, so the script only joins them (each join
-- of a `..` chain is one copy): searching and replacing in Lua cost Redis more than the writes.
-- The task's body comes already encoded, in two parts around a slot of 21 bytes that starts on a
-- 3-byte boundary: only the slot (the id and the spaces after it, whitespace JSON allows) is
-- encoded here.
-- KEYS: id counter, products zset, queue list, _kombu.binding.<q>, _kombu.binding_permanent.<q>,
--       history record key, history zset
-- ARGV: 1 deadline (epoch seconds, Redis's clock), 2 product key prefix,
--       3-4 the product JSON before and after its id,
--       5-6 base64 of the body before and after the id's slot,
--       7-9 the task envelope JSON before its body, between the body and the id (argsrepr), after
--       the id,
--       10 binding member,
--       11-13 the history record JSON before, between and after its two ids,
--       14 sent_at, 15 task id, 16 history cap, 17 history key prefix, 18 product channel
-- The product's own key (ARGV[2] .. id) is not among KEYS: its name depends on the id taken here.
-- Fine on one Redis (not a cluster).
-- Returns the new product's id; 0 past the deadline; -1, changing nothing, when the counter has
-- reached 2^53 (Lua's numbers are doubles: past it an id would not be written exactly).
if past_deadline(ARGV[1]) then
  return 0
end

local SLOT = 21
local ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
-- Base64 of the id and the spaces after it, SLOT bytes (a multiple of 3: no padding). The slot
-- starts on a 3-byte boundary, so each 3 bytes encode to 4 characters on their own: only the
-- groups that hold digits are computed, and each group of three spaces past them is 'ICAg'.
local function slot_base64(id)
  local byte, sub, floor = string.byte, string.sub, math.floor
  local padded = id .. '  '
  local out = ''
  for i = 1, #id, 3 do
    local a, b, c = byte(padded, i, i + 2)
    local n = a * 65536 + b * 256 + c
    local w, x, y, z = floor(n / 262144) + 1, floor(n / 4096) % 64 + 1, floor(n / 64) % 64 + 1, n % 64 + 1
    out = out .. sub(ALPHABET, w, w) .. sub(ALPHABET, x, x) .. sub(ALPHABET, y, y) .. sub(ALPHABET, z, z)
  end
  return out .. string.rep('ICAg', SLOT / 3 - #out / 4)
end

-- INCR first and DECR back at the end of the ids: a GET before every INCR would cost each call
-- a command to guard against what happens once.
local taken = redis.call('INCR', KEYS[1])
if taken >= 9007199254740992 then
  redis.call('DECR', KEYS[1])
  return -1
end
local id = string.format('%d', taken)
local product = ARGV[3] .. id .. ARGV[4]
local envelope = ARGV[7] .. ARGV[5] .. slot_base64(id) .. ARGV[6] .. ARGV[8] .. id .. ARGV[9]

redis.call('SET', ARGV[2] .. id, product)
redis.call('ZADD', KEYS[2], id, id)
redis.call('SADD', KEYS[4], ARGV[10])
redis.call('SADD', KEYS[5], ARGV[10])
redis.call('LPUSH', KEYS[3], envelope)
redis.call('SET', KEYS[6], ARGV[11] .. id .. ARGV[12] .. id .. ARGV[13])
redis.call('ZADD', KEYS[7], ARGV[14], ARGV[15])
trim_history(KEYS[7], ARGV[16], ARGV[17])
redis.call('PUBLISH', ARGV[18], product)
return taken
