"""A Python Celery worker for the monitor's tests: the original's task, simulated briefly.

Run with: celery -A notifications worker --pool=solo -E
"""
import os
import time

from celery import Celery

url = os.environ["REDIS_URL"]
app = Celery("notifications", broker=url, backend=url)
app.conf.update(task_acks_late=True, task_track_started=True, worker_hijack_root_logger=False)


@app.task(name="tasks.notifications.send_tg_notification")
def send_tg_notification(product):
    time.sleep(0.2)
    return {"status": "simulated", "product_id": product["id"], "by": "python"}
