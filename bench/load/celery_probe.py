"""The portal's Celery app with a bench-only probe: every task a worker runs and every task beat
sends is written as one JSON line to ``PRM_BENCH_TASK_LOG``, so the verifier can count how often
each scheduled job ran and whether any task ran twice.

Started as ``celery -A bench.load.celery_probe worker|beat``: the app is ``prm.celery.app``
itself, unchanged; only these signal handlers are added, in the run's own processes. Nothing here
is imported by the portal.

Lines (``kind``):

* ``sent`` (beat): ``task``, ``id``, ``periodic`` (the schedule entry's name), ``at``;
* ``start`` / ``end`` (worker): ``task``, ``id``, ``periodic`` (when beat sent it), ``retries``,
  ``redelivered`` (the broker handed the message out before), ``worker``, ``at``; ``end`` also has
  ``state`` (SUCCESS, FAILURE, RETRY, ...).
"""

from __future__ import annotations

import json
import os
import socket
import time
from typing import Any

from celery.signals import before_task_publish, task_postrun, task_prerun

from prm.celery import app

__all__ = ["app"]

_LOG = os.environ.get("PRM_BENCH_TASK_LOG", "")
_ROLE = os.environ.get("PRM_BENCH_ROLE", "")


def _write(record: dict[str, Any]) -> None:
    if not _LOG:
        return
    line = (json.dumps(record, default=str) + "\n").encode()
    # One write() on an O_APPEND descriptor: lines from the worker's child processes and from the
    # two workers never interleave (each line is far below the size where that could happen).
    descriptor = os.open(_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, line)
    finally:
        os.close(descriptor)


@before_task_publish.connect
def _sent(sender: str | None = None, headers: dict | None = None, **kwargs: Any) -> None:
    # Only beat's own sends: a worker also publishes (a task that queues another), which the
    # worker's start lines cover.
    if _ROLE != "beat" or not headers:
        return
    _write(
        {
            "kind": "sent",
            "task": sender,
            "id": headers.get("id"),
            "periodic": headers.get("periodic_task_name"),
            "at": time.time(),
        }
    )


def _request_fields(task: Any) -> dict[str, Any]:
    request = task.request
    delivery = getattr(request, "delivery_info", None) or {}
    return {
        "task": task.name,
        "id": request.id,
        "periodic": getattr(request, "periodic_task_name", None),
        "retries": request.retries,
        "redelivered": bool(delivery.get("redelivered")),
        "worker": request.hostname or socket.gethostname(),
        "pid": os.getpid(),
        "at": time.time(),
    }


@task_prerun.connect
def _start(task: Any = None, **kwargs: Any) -> None:
    if task is not None:
        _write({"kind": "start", **_request_fields(task)})


@task_postrun.connect
def _end(task: Any = None, state: str | None = None, **kwargs: Any) -> None:
    if task is not None:
        _write({"kind": "end", "state": state, **_request_fields(task)})
