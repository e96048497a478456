#!/usr/bin/env python3
"""Enqueue `machine.restocked` and `machine.layout` through the ingress (POST /admin/jobs/{name}); stdlib only.

Usage: ADMIN_URL=http://127.0.0.1:3001 API_KEY=owc_... python3 enqueue_machine.py <machineCode> [jobId]
Auth: an API key (API_KEY, from `pnpm cli keys:create`) as Bearer, else the operator's ADMIN_USER/ADMIN_PASSWORD
(the same `enqueue` as enqueue_sku.py, which must sit beside this file).
Prints one line per job: the HTTP status and the answer. Stops with exit 1 at the first answer that is not 202.
machine.restocked answers 422 {"error": "unknown_machine", "field": "machineCode"} for a machine the gateway lacks.
"""
import json
import sys

from enqueue_sku import enqueue


def layout(machine_code):
    """A full layout known to the sender: one container, one slot (money: strings with two decimals)."""
    return {
        "machineCode": machine_code,
        "containerCode": "01",
        "machineStatus": 10,
        "slotList": [
            {
                "slotNum": "01",
                "row": 1,
                "col": 1,
                "skuCode": "0000001",
                "skuName": "Cola",
                "originalPrice": "2.50",
                "actualPrice": "2.00",
                "maxInventory": 10,
                "currentInventory": 8,
                "slotStatus": 0,
            }
        ],
    }


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: enqueue_machine.py <machineCode> [jobId]")
    machine = sys.argv[1]
    job_id = sys.argv[2] if len(sys.argv) > 2 else None
    jobs = [
        # a restock finished: the worker reads the machine from the gateway and sends machine/sync;
        # with a jobId the same restock reported twice is enqueued once ("duplicate": true)
        ("machine.restocked", {"machineCode": machine}, job_id),
        ("machine.layout", layout(machine), None),
    ]
    for name, payload, given_id in jobs:
        status, body = enqueue(name, payload, given_id)
        print(status, json.dumps(body, ensure_ascii=False))
        if status != 202:  # stop at the first refusal, as enqueue-machine.sh does
            sys.exit(1)
