"""Celery as a peer of the worker benchmark: the original's app and task (bench/python/original),
with the guarantees our worker keeps switched on too (STARTED, extended results, task events).

  celery -A celery_peer worker --pool=solo|threads -c N -E
"""
from tasks import celery_app, send_tg_notification  # noqa: F401  (the task is registered on import)

celery_app.conf.update(task_track_started=True, result_extended=True, worker_send_task_events=True)
app = celery_app
