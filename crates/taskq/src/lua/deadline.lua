-- Prepended to every script that carries a deadline (`clock::with_deadline_check`).
-- redis_now(): Redis's own clock, in epoch seconds.
-- past_deadline(d): whether Redis runs this after `d` (epoch seconds by that clock; 0 or nil:
-- no deadline). A script run that late does nothing: its client has stopped waiting (Redis was
-- paused, say, and runs what queued up when it resumes), so what it moved or took would be held
-- for nobody.
local function redis_now()
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end

local function past_deadline(deadline)
  deadline = tonumber(deadline) or 0
  return deadline > 0 and redis_now() > deadline
end
