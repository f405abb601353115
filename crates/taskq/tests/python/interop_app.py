"""The Python Celery app of the interop tests: the seed's settings, pointed at REDIS_URL.

Run as a worker with: celery -A interop_app worker --pool=solo -E
"""
import os

from celery import Celery

url = os.environ["REDIS_URL"]
app = Celery("interop", broker=url, backend=url)
app.conf.update(
    task_acks_late=True,
    task_track_started=True,
    result_extended=True,
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
)


@app.task(name="interop.echo")
def echo(value):
    return {"echo": value, "by": "python"}


@app.task(name="interop.sleep")
def sleep(seconds):
    import time

    time.sleep(seconds)
    return {"slept": seconds}
