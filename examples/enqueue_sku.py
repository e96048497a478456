#!/usr/bin/env python3
"""Enqueue an `sku.upsert` job through the ingress (POST /admin/jobs/{name}); stdlib only.

Usage: ADMIN_URL=http://127.0.0.1:3001 ADMIN_USER=admin ADMIN_PASSWORD=secret python3 enqueue_sku.py [jobId]
Auth: an API key (API_KEY, from `pnpm cli keys:create`) as Bearer, else the operator's ADMIN_USER/ADMIN_PASSWORD.
Answers: 202 {"jobId","name","queue","duplicate"}; 400 {"error","message","field","problems"}; 401; 403; 404.
"""
import base64
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request


def enqueue(name, payload, job_id=None):
    base = os.environ.get("ADMIN_URL", "http://127.0.0.1:3001")
    url = f"{base}/admin/jobs/{urllib.parse.quote(name)}"
    if job_id:  # optional: the same jobId enqueues once while that job exists
        url += "?" + urllib.parse.urlencode({"jobId": job_id})
    if os.environ.get("API_KEY"):
        authorization = "Bearer " + os.environ["API_KEY"]
    else:
        credentials = f"{os.environ['ADMIN_USER']}:{os.environ['ADMIN_PASSWORD']}".encode()
        authorization = "Basic " + base64.b64encode(credentials).decode()
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        method="POST",
        headers={
            "content-type": "application/json",
            "authorization": authorization,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


if __name__ == "__main__":
    sku = {
        "skuCode": "0000001",
        "skuName": "Cola",
        "skuUnit": "罐",
        "skuSpec": "330ml",
        "originalPrice": "2.50",  # money: a string with exactly two decimals
        "skuPic": "https://img.example.com/cola.png",
    }
    status, body = enqueue("sku.upsert", {"skus": [sku]}, sys.argv[1] if len(sys.argv) > 1 else None)
    print(status, json.dumps(body, ensure_ascii=False))
    sys.exit(0 if status == 202 else 1)
