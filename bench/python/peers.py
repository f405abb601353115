"""The Python clients of the worker benchmark (stackdesk-bench workers), one per peer:

  python peers.py celery     messages exactly as Celery's send_task writes them (for our worker
                             and for Celery's)
  python peers.py dramatiq   Dramatiq's actor.send

Each reads commands on stdin, one per line, and answers one JSON line:
  warm        one task sent and waited for (the worker is up and warm)
  fill N      N tasks written to a staging place no worker reads (not timed)
  release     the staged tasks made visible to the workers at once
  latency K   K tasks one after another, each waited for; the milliseconds from send to result
              (Celery's: on the result's channel, as the worker publishes it)
"""
import json
import os
import sys
import time
import uuid

import redis

URL = os.environ["REDIS_URL"]
# The same server's database 15: written while no worker looks, then moved to database 0 at once.
STAGING_URL = os.environ["STAGING_URL"]
TASK = "tasks.notifications.send_tg_notification"


def product(i):
    return {"id": i, "name": "Phone", "price": 499.9, "description": None}


def move_all(keys):
    """Moves the staged keys to the live database in one MULTI: the workers see them at once."""
    staged = redis.Redis.from_url(STAGING_URL)
    pipe = staged.pipeline(transaction=True)
    for key in keys:
        pipe.move(key, 0)
    moved = pipe.execute()
    if not all(moved):
        raise SystemExit(f"could not move {keys} (moved: {moved}): is the live database empty?")


class CeleryPeer:
    def __init__(self):
        from celery import Celery

        self.app = Celery("bench", broker=URL, backend=URL)
        self.stage = Celery("stage", broker=STAGING_URL)
        self.results = redis.Redis.from_url(URL).pubsub()

    def warm(self):
        self.app.send_task(TASK, args=[product(0)]).get(timeout=60)

    def fill(self, n):
        with self.stage.producer_or_acquire() as producer:
            for i in range(1, n + 1):
                self.stage.send_task(TASK, args=[product(i)], producer=producer)

    def release(self):
        move_all(["celery"])

    def one(self, i):
        """Sends one task and waits on its result's channel, subscribed before sending: the worker
        publishes each state there as it stores it (Celery's own backend waits there too, behind
        `AsyncResult.get()`, whose polling adds milliseconds of its own). The milliseconds from the
        send to its SUCCESS: subscribing and unsubscribing are outside them."""
        task_id = str(uuid.uuid4())
        self.results.subscribe(f"celery-task-meta-{task_id}")
        self.results.get_message(timeout=5)  # the subscription's confirmation
        start = time.perf_counter()
        self.app.send_task(TASK, args=[product(i)], task_id=task_id)
        deadline = time.monotonic() + 30
        while True:
            message = self.results.get_message(timeout=max(0.0, deadline - time.monotonic()))
            if message is None:
                raise SystemExit(f"task {task_id} not done in 30 s")
            if message["type"] == "message" and json.loads(message["data"])["status"] == "SUCCESS":
                break
        millis = (time.perf_counter() - start) * 1000
        self.results.unsubscribe()
        self.results.get_message(timeout=5)  # the unsubscription's confirmation
        return millis


class DramatiqPeer:
    def __init__(self):
        from dramatiq.brokers.redis import RedisBroker

        import dramatiq_peer

        self.peer = dramatiq_peer
        self.stage = RedisBroker(url=STAGING_URL)
        self.stage.declare_queue("default")

    def warm(self):
        message = self.peer.send_tg_notification.send(product(0))
        message.get_result(backend=self.peer.backend, block=True, timeout=60_000)

    def fill(self, n):
        actor = self.peer.send_tg_notification
        for i in range(1, n + 1):
            self.stage.enqueue(actor.message(product(i)))

    def release(self):
        move_all(["dramatiq:default", "dramatiq:default.msgs"])

    def one(self, i):
        """The milliseconds from sending one task to holding its result."""
        start = time.perf_counter()
        message = self.peer.send_tg_notification.send(product(i))
        message.get_result(backend=self.peer.backend, block=True, timeout=30_000)
        return (time.perf_counter() - start) * 1000


def main():
    peer = {"celery": CeleryPeer, "dramatiq": DramatiqPeer}[sys.argv[1]]()
    for line in sys.stdin:
        command, *args = line.split()
        if command == "warm":
            peer.warm()
            answer = {"ok": True}
        elif command == "fill":
            peer.fill(int(args[0]))
            answer = {"filled": int(args[0])}
        elif command == "release":
            peer.release()
            answer = {"released": True}
        elif command == "latency":
            answer = {"millis": [peer.one(1_000_000 + i) for i in range(int(args[0]))]}
        else:
            raise SystemExit(f"unknown command {command!r}")
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
