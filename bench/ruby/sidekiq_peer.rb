# Sidekiq as a peer of the worker benchmark (stackdesk-bench workers): the same job (a product in,
# a result kept) on its Redis queue `queue:default`, Debian's ruby-sidekiq 6.4.1 (basic fetch:
# one BRPOP per job, the job then held in memory only; no unacked list).
#
#   REDIS_URL=redis://127.0.0.1:PORT/0 sidekiq -r ./sidekiq_peer.rb -c N -q default
#
# Prints "sidekiq peer ready" on stdout once its processors are started (Sidekiq's own "Starting
# processing" line is only logged in development on a terminal). Logs at WARN, like the other
# peers: Sidekiq's job logger would otherwise write two lines per job.
#
# Sidekiq keeps no results: the job stores its own, as `sidekiq-result:<jid>` (the result as JSON,
# kept 86,400 s), and counts itself done in `sidekiq-done` in the same MULTI, so the bench reads
# how many finished with one GET and never sees the count ahead of the results.
require "json"
require "sidekiq"

URL = ENV.fetch("REDIS_URL")
RESULT_TTL = 86_400

Sidekiq.logger.level = Logger::WARN
# Debian pairs Sidekiq 6.4.1 with redis-rb 4.8, which warns on stderr at every one of Sidekiq's
# BRPOPs (a positional timeout) and SADDs: one line per job unless silenced.
Redis.silence_deprecations = true

Sidekiq.configure_server do |config|
  config.redis = {url: URL}
end

Sidekiq.configure_client do |config|
  config.redis = {url: URL}
end

class SendTgNotification
  include Sidekiq::Job
  sidekiq_options queue: "default", retry: 3

  def perform(product)
    result = {"status" => "simulated", "product_id" => product["id"]}
    Sidekiq.redis do |conn|
      conn.multi do |tx|
        tx.set("sidekiq-result:#{jid}", JSON.generate(result), ex: RESULT_TTL)
        tx.incr("sidekiq-done")
      end
    end
    result
  end
end

if Sidekiq.server?
  require "sidekiq/launcher"

  # The ready line, once Launcher#run has started the heartbeat, the poller and the N processors
  # (each of which then BRPOPs `queue:default`).
  module SidekiqPeerReady
    def run
      super
      $stdout.puts "sidekiq peer ready"
      $stdout.flush
    end
  end
  Sidekiq::Launcher.prepend(SidekiqPeerReady)
end
