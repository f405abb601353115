"""A producer that is not ours: Celery's own send_task, as a Python API's .delay() would send it
(no history record, no task-sent event). Prints each task id on a line.

Usage: python producer.py <product-id> [countdown-seconds] ...
"""
import json
import os
import sys

from celery import Celery

url = os.environ["REDIS_URL"]
app = Celery("producer", broker=url, backend=url)

args = sys.argv[1:]
for i in range(0, len(args), 2):
    product_id = int(args[i])
    countdown = float(args[i + 1]) if i + 1 < len(args) else None
    product = {"id": product_id, "name": f"Python {product_id}", "price": 1.5, "description": None,
               "created_at": "2026-12-01T10:00:00"}
    result = app.send_task("tasks.notifications.send_tg_notification", args=[product], countdown=countdown)
    print(result.id, flush=True)
