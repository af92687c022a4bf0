"""gunicorn settings for bench/gc_pauses.py: the app's own (shutterbell/gunicorn_hooks.py), or
Python's default collector when BENCH_GC_DEFAULT is set, and each worker's time in the collector
and its peak memory (resident, KiB) written to BENCH_GC_LOG when it exits."""
from __future__ import annotations

import gc
import os
import resource
import time

from shutterbell import gunicorn_hooks

_spent = {"seconds": 0.0, "started": 0.0}


def _timed(phase: str, info: dict) -> None:
    if phase == "start":
        _spent["started"] = time.perf_counter()
    else:
        _spent["seconds"] += time.perf_counter() - _spent["started"]


def post_worker_init(worker) -> None:
    if not os.environ.get("BENCH_GC_DEFAULT"):
        gunicorn_hooks.post_worker_init(worker)
    gc.callbacks.append(_timed)


def worker_exit(server, worker) -> None:
    with open(os.environ["BENCH_GC_LOG"], "a") as log:
        log.write(f"{_spent['seconds']} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\n")
