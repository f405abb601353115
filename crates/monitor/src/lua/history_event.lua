-- Applies one Celery task event to a task's history record (a JSON string) and returns the record.
-- The state follows the newest event by event time, and never moves from a finished state
-- (SUCCESS, FAILURE, REVOKED) back to an unfinished one; every state reached is kept in
-- `timeline`, in time order. So a redelivery after a dead worker (a newer RECEIVED after STARTED)
-- moves the state back to RECEIVED, while a late, older event only fills in the timeline.
-- A RECEIVED step keeps the delivery's `eta` (fields.eta, epoch seconds as text; null when none).
-- KEYS: history record key, history zset
-- ARGV: task id, state ("" for none), event time (epoch seconds), fields JSON, history cap,
--       history key prefix
local raw = redis.call('GET', KEYS[1])
-- Times are kept as strings: cjson writes numbers with 14 significant digits, too few for epoch
-- seconds with microseconds (a STARTED could then look older than its RECEIVED).
local at_text = ARGV[3]
local at = tonumber(at_text)
local record
if raw then
  record = cjson.decode(raw)
else
  record = {task_id = ARGV[1], sent_at = at_text, retries = 0, timeline = {}}
end
local fields = cjson.decode(ARGV[4])
local eta = fields.eta
fields.eta = nil
for key, value in pairs(fields) do
  if value ~= cjson.null then
    if key == 'retries' then
      if value > (record.retries or 0) then record.retries = value end
    else
      record[key] = value
    end
  end
end
local state = ARGV[2]
if state ~= '' then
  local timeline = record.timeline
  if type(timeline) ~= 'table' then timeline = {} end
  -- Insert after every step that is not later, so equal times keep their arrival order.
  local position = #timeline + 1
  while position > 1 and tonumber(timeline[position - 1].at) > at do
    position = position - 1
  end
  local before = timeline[position - 1]
  if not (before and before.state == state and tonumber(before.at) == at) then
    local step = {state = state, at = at_text, worker = record.worker}
    if type(eta) == 'string' then step.eta = eta end
    table.insert(timeline, position, step)
  end
  record.timeline = timeline
  local finished = {SUCCESS = true, FAILURE = true, REVOKED = true}
  local current = record.state
  if current == nil or (not (finished[current] and not finished[state]) and at >= tonumber(record.state_at or 0)) then
    record.state = state
    record.state_at = at_text
  end
end
local encoded = cjson.encode(record)
redis.call('SET', KEYS[1], encoded)
redis.call('ZADD', KEYS[2], 'NX', tonumber(record.sent_at), ARGV[1])
trim_history(KEYS[2], ARGV[5], ARGV[6])
return encoded
