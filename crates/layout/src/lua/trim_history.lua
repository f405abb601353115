-- Keeps the newest `cap` tasks of the history's zset `index` (scored by when they were sent) and
-- deletes the records (`prefix .. id`) of the others. Prepended to every script that adds to the
-- history (see `layout::record::with_history_trim`).
local function trim_history(index, cap, prefix)
  local excess = redis.call('ZCARD', index) - tonumber(cap)
  if excess > 0 then
    for i, id in ipairs(redis.call('ZPOPMIN', index, excess)) do
      -- ZPOPMIN returns member, score pairs: every other item is a member.
      if i % 2 == 1 then redis.call('DEL', prefix .. id) end
    end
  end
end
