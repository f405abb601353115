-- wrk script: POST one valid product per request.
wrk.method = "POST"
wrk.body = '{"name": "Phone", "price": 499.9, "description": "benchmark"}'
wrk.headers["Content-Type"] = "application/json"
