"""The Python side of the library-level publish benchmark (stackdesk-bench publish).

  python celery_bench.py publish N      N sequential send_task calls; prints JSON timing
"""
import json
import os
import sys
import time

from celery import Celery

app = Celery("bench", broker=os.environ["REDIS_URL"], backend=os.environ["REDIS_URL"])
app.conf.update(task_acks_late=True, task_track_started=True, result_extended=True, worker_hijack_root_logger=False)


@app.task(name="bench.noop")
def noop(n):
    return n


if __name__ == "__main__" and sys.argv[1] == "publish":
    n = int(sys.argv[2])
    app.send_task("bench.noop", args=[-1])  # connect and declare outside the measurement
    start = time.perf_counter()
    for i in range(n):
        app.send_task("bench.noop", args=[i])
    elapsed = time.perf_counter() - start
    print(json.dumps({"published": n, "seconds": elapsed}))
