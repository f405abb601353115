"""The original's Celery side: the seed's settings and its one task (simulated send)."""
import os
import time

from celery import Celery

url = os.environ["REDIS_URL"]
celery_app = Celery("tasks", broker=url, backend=url)
celery_app.conf.update(
    broker_connection_retry_on_startup=True,
    worker_pool="solo",
    worker_concurrency=1,
    task_acks_late=True,
    worker_hijack_root_logger=False,
)


@celery_app.task(bind=True, name="tasks.notifications.send_tg_notification", max_retries=3)
def send_tg_notification(self, product):
    try:
        time.sleep(float(os.environ.get("NOTIFY_SIMULATED_SECS", "30")))
        return {"status": "simulated", "product_id": product["id"]}
    except Exception as exc:
        raise self.retry(exc=exc, countdown=5)
