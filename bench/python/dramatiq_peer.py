"""Dramatiq as a peer of the worker benchmark: the same job (a product in, a result kept) on its
Redis broker, with results stored by its Results middleware.

  dramatiq dramatiq_peer --processes 1 --threads N
"""
import os

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.results import Results
from dramatiq.results.backends import RedisBackend

URL = os.environ["REDIS_URL"]
# Keys named `dramatiq-results:<queue>:<actor>:<id>`, so the bench can count them.
backend = RedisBackend(url=URL, use_namespace_prefix_keys=True)
broker = RedisBroker(url=URL)
broker.add_middleware(Results(backend=backend))
dramatiq.set_broker(broker)


@dramatiq.actor(queue_name="default", store_results=True, max_retries=3)
def send_tg_notification(product):
    return {"status": "simulated", "product_id": product["id"]}
