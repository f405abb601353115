"""Capture golden fixtures from real Python Celery for the taskq wire tests.

Usage: python capture_golden.py REDIS_URL OUTPUT.json

Publishes task messages with `send_task` / `apply_async` (no worker runs, so they stay on the
queue lists), stores results through Celery's own Redis backend code path (`store_result` with a
task request, result_extended on), and dispatches events with Celery's own event dispatcher while
a pattern subscription records them. Every payload is stored as the exact string Redis held.
"""
import json
import sys
import threading
import time

import celery
import kombu
import redis
from celery import Celery
from celery.app.task import Context
from celery.exceptions import NotRegistered

url, out_path = sys.argv[1], sys.argv[2]
r = redis.Redis.from_url(url)
r.flushdb()

app = Celery("capture", broker=url, backend=url)
app.conf.update(result_extended=True, task_track_started=True, task_acks_late=True)
SEP = "\x06\x16"
PRODUCT = {"id": 2, "name": "Phone", "price": 499.9, "description": "Новый \u2014 ok", "created_at": "2026-11-24T06:24:51.987861+00:00"}


def drain_queue_keys():
    found = []
    for key in ["celery"] + [f"celery{SEP}{p}" for p in (3, 6, 9)]:
        for raw in r.lrange(key, 0, -1):
            found.append({"queue_key": key, "raw": raw.decode()})
        r.delete(key)
    return found


envelopes = []
cases = [
    ("send_task", lambda: app.send_task("tasks.notifications.send_tg_notification", args=[PRODUCT])),
    ("countdown_expires_priority", lambda: app.send_task(
        "tasks.notifications.send_tg_notification", args=[PRODUCT], countdown=5, expires=60, priority=5)),
    ("kwargs_priority9_ignore_result_timelimit", lambda: app.send_task(
        "demo.kwargs", kwargs={"product_id": 4, "product_name": "X", "price": 1.0}, priority=9,
        ignore_result=True, time_limit=30, soft_time_limit=20)),
    ("many_args", lambda: app.send_task("demo.args", args=[1, 2.5, "it's", None, True, [1, 2], {"k": "v"}])),
]
for name, send in cases:
    send()
    for item in drain_queue_keys():
        item["name"] = name
        envelopes.append(item)

# Results, written by Celery's backend code with a real task request.
task_id = "d6db6118-794d-49d2-afc6-4f3e1ee2eacf"
request = Context(
    id=task_id, task="tasks.notifications.send_tg_notification", args=[PRODUCT], kwargs={},
    hostname="w1@capture", retries=0, delivery_info={"routing_key": "celery"}, parent_id=None, group=None,
)
results = []


def capture_result(name, state, result, traceback=None, req=request):
    app.backend.store_result(req.id, result, state, traceback=traceback, request=req)
    key = f"celery-task-meta-{req.id}"
    results.append({"name": name, "raw": r.get(key).decode(), "ttl": r.ttl(key)})
    r.delete(key)


capture_result("started", "STARTED", {"pid": 4242, "hostname": "w1@capture"})
exc = RuntimeError("Telegram API error: 500")
capture_result("retry", "RETRY", exc, traceback="Traceback (most recent call last):\nRuntimeError: Telegram API error: 500\n")
retried = Context(request.__dict__.copy())
retried.retries = 3
retried.parent_id = task_id
capture_result("failure", "FAILURE", exc, traceback="Traceback (most recent call last):\nRuntimeError: Telegram API error: 500\n", req=retried)
capture_result("success", "SUCCESS", {"status": "simulated", "product_id": 2, "text": "New product #2: Phone \u2014 499.9"})
capture_result("not_registered", "FAILURE", NotRegistered("demo.missing"))

# Events, sent by Celery's dispatcher and recorded from the fanout channel.
pubsub = r.pubsub()
pubsub.psubscribe("/0.celeryev/*")
while pubsub.get_message(timeout=0.2) is not None:
    pass
events = []
with app.connection_for_write() as conn:
    dispatcher = app.events.Dispatcher(conn, hostname="w1@capture", buffer_while_offline=False)
    dispatcher.send("worker-online", freq=2.0, active=0, processed=0, loadavg=[0.1, 0.2, 0.3],
                    sw_ident="py-celery", sw_ver=celery.__version__, sw_sys="Linux")
    dispatcher.send("task-received", uuid=task_id, name="tasks.notifications.send_tg_notification",
                    args="(2,)", kwargs="{}", root_id=task_id, parent_id=None, retries=0, eta=None, expires=None)
    dispatcher.send("task-succeeded", uuid=task_id, result="{'status': 'sent'}", runtime=0.5)
    dispatcher.close()
deadline = time.time() + 5
while len(events) < 3 and time.time() < deadline:
    msg = pubsub.get_message(timeout=0.5)
    if msg and msg["type"] == "pmessage":
        events.append({"channel": msg["channel"].decode(), "raw": msg["data"].decode()})

with open(out_path, "w") as fh:
    json.dump({
        "captured_with": {"celery": celery.__version__, "kombu": kombu.__version__, "redis-py": redis.__version__},
        "envelopes": envelopes, "results": results, "events": events,
    }, fh, indent=1, ensure_ascii=False)
    fh.write("\n")
print(f"captured {len(envelopes)} envelopes, {len(results)} results, {len(events)} events")
