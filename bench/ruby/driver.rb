# The Sidekiq client of the worker benchmark (stackdesk-bench workers), the same line protocol as
# bench/python/peers.py: commands on stdin, one per line, one JSON line answered for each:
#   warm        one job pushed and waited for (the worker is up and warm)
#   fill N      N jobs pushed (push_bulk, 1,000 a call) to the staging database no worker reads
#   release     the staged queue moved to the live database in one MULTI
#   latency K   K jobs one after another, each waited for; the milliseconds from push to result
#
#   REDIS_URL=redis://127.0.0.1:PORT/0 STAGING_URL=redis://127.0.0.1:PORT/15 ruby driver.rb
require "json"
require "connection_pool"
require "redis"
require_relative "sidekiq_peer"

# Only the JSON answers on stdout.
Sidekiq.logger = Sidekiq::Logger.new($stderr, level: Logger::WARN)
$stdout.sync = true

STAGING = ConnectionPool.new(size: 1) { Redis.new(url: ENV.fetch("STAGING_URL")) }
# The only key that has to move: the BRPOP of the workers reads `queue:default` alone. The staged
# `queues` set (Sidekiq's index of queue names, for its API and Web UI) stays behind: the warm-up's
# push already made it in the live database, where a MOVE onto it would return 0.
STAGED_KEYS = ["queue:default"].freeze

def product(id)
  {"id" => id, "name" => "Phone", "price" => 499.9, "description" => nil}
end

def now
  Process.clock_gettime(Process::CLOCK_MONOTONIC)
end

# Pushes one job to the live database and waits until its result is stored. Sidekiq has no way to
# wait for a job, and the job's only trace is its result key: the wait is a poll (EXISTS, then a
# sleep of 0.1 ms), one round trip per ~0.15 ms.
def one(id, timeout)
  jid = SendTgNotification.perform_async(product(id))
  key = "sidekiq-result:#{jid}"
  deadline = now + timeout
  Sidekiq.redis do |conn|
    until conn.exists?(key)
      abort "job #{jid} (product #{id}) not done in #{timeout} s" if now > deadline
      sleep 0.0001
    end
  end
end

def fill(n)
  client = Sidekiq::Client.new(STAGING)
  (1..n).each_slice(1000) do |ids|
    client.push_bulk("class" => SendTgNotification, "args" => ids.map { |i| [product(i)] })
  end
end

def release
  moved = STAGING.with { |conn| conn.multi { |tx| STAGED_KEYS.each { |key| tx.move(key, 0) } } }
  return if moved.all?

  abort "could not move #{STAGED_KEYS} (moved: #{moved}): is the live database's queue empty?"
end

$stdin.each_line do |line|
  command, arg = line.split
  answer =
    case command
    when "warm"
      one(0, 60)
      {ok: true}
    when "fill"
      fill(Integer(arg))
      {filled: Integer(arg)}
    when "release"
      release
      {released: true}
    when "latency"
      millis = Array.new(Integer(arg)) do |i|
        start = now
        one(1_000_000 + i, 30)
        (now - start) * 1000
      end
      {millis: millis}
    else
      abort "unknown command #{command.inspect}"
    end
  puts JSON.generate(answer)
end
