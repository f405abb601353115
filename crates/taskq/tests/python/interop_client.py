"""The Python Celery client of the interop tests. Prints JSON on stdout.

  send_and_get NAME ARGS_JSON TIMEOUT   send_task, then AsyncResult.get(); prints the result
  watch_states NAME ARGS_JSON TIMEOUT   subscribe to the result channel first, send, print every
                                        state published until a ready state, then the final meta
  events TYPES TIMEOUT                  Celery's EventReceiver: captures events until every type in
                                        TYPES (comma separated) was seen, then prints them
  send NAME ARGS_JSON                   send_task only; prints the task id
  get ID TIMEOUT                        AsyncResult(ID).get(); prints the result
"""
import json
import sys
import time

import redis
from celery import states

from interop_app import app, url

cmd = sys.argv[1]


def emit(obj):
    print(json.dumps(obj), flush=True)


if cmd == "send_and_get":
    name, args, timeout = sys.argv[2], json.loads(sys.argv[3]), float(sys.argv[4])
    result = app.send_task(name, args=args)
    emit({"id": result.id, "result": result.get(timeout=timeout), "state": result.state})
elif cmd == "send":
    emit({"id": app.send_task(sys.argv[2], args=json.loads(sys.argv[3])).id})
elif cmd == "get":
    result = app.AsyncResult(sys.argv[2])
    emit({"result": result.get(timeout=float(sys.argv[3])), "state": result.state})
elif cmd == "watch_states":
    name, args, timeout = sys.argv[2], json.loads(sys.argv[3]), float(sys.argv[4])
    import uuid
    task_id = str(uuid.uuid4())
    pubsub = redis.Redis.from_url(url).pubsub()
    pubsub.subscribe(f"celery-task-meta-{task_id}")
    pubsub.get_message(timeout=1.0)  # the subscribe confirmation
    app.send_task(name, args=args, task_id=task_id)
    seen = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        msg = pubsub.get_message(timeout=0.5)
        if msg and msg["type"] == "message":
            meta = json.loads(msg["data"])
            seen.append(meta["status"])
            if meta["status"] in states.READY_STATES:
                break
    emit({"id": task_id, "states": seen, "meta": app.backend.get_task_meta(task_id)})
elif cmd == "events":
    wanted, timeout = set(sys.argv[2].split(",")), float(sys.argv[3])
    seen = []

    def on_event(event):
        seen.append(event)
        if wanted <= {e["type"] for e in seen}:
            raise KeyboardInterrupt

    with app.connection() as conn:
        recv = app.events.Receiver(conn, handlers={"*": on_event})
        try:
            recv.capture(limit=None, timeout=timeout, wakeup=False)
        except KeyboardInterrupt:
            pass
    emit({"events": seen})
    sys.exit(0 if wanted <= {e["type"] for e in seen} else 1)
else:
    sys.exit(f"unknown command {cmd}")
