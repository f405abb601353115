"""The original's API: FastAPI, products kept in a list, the notification queued with .delay().

Run with: uvicorn app:app --port 8000
"""
from datetime import datetime, timezone
from typing import Optional

from fastapi import FastAPI
from pydantic import BaseModel, Field

from tasks import send_tg_notification

app = FastAPI()
products = []


class ProductIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    price: float = Field(gt=0, le=1e9)
    description: Optional[str] = Field(default=None, max_length=1000)


@app.post("/products/", status_code=201)
def create_product(payload: ProductIn):
    product = {
        "id": len(products) + 1,
        "name": payload.name.strip(),
        "price": payload.price,
        "description": payload.description,
        "created_at": datetime.now(timezone.utc).isoformat(),
    }
    products.append(product)
    task = send_tg_notification.delay(product)
    return {**product, "task_id": task.id}


@app.get("/health")
def health():
    return {"status": "ok"}
