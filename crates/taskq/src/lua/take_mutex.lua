-- Takes kombu's `unacked_mutex` (KEYS[1]) as `SET key token NX PX ms` does (ARGV[1] the token,
-- ARGV[2] the expiry in ms), unless Redis runs this after ARGV[3] (epoch seconds by its own
-- clock): its caller has stopped waiting by then (Redis was paused), and a mutex taken for
-- nobody would stop every restore, ours and Celery's, until it expires.
-- Returns 1 when taken, 0 when another holds it, -1 past the deadline.
if past_deadline(ARGV[3]) then
  return -1
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
return 0
