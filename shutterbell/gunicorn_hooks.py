"""gunicorn's settings for the web process: ``gunicorn -c python:shutterbell.gunicorn_hooks``, as
the Procfile and deploy/shutterbell-web.service start it.

The garbage collector, tuned for pages. A page makes tens of thousands of short-lived objects, many
in reference cycles that only the collector frees (WTForms' fields and forms point at each other).
At Python's default, a young collection every 700 new objects, they outlived the request's young
collections, and the full collections that then freed them walked the whole app (about 150,000
objects) each time: 18–22 ms of the profile editor's ~70 ms, 7–9 ms of the job page's, 5 ms of the
outbox's. Frozen and with larger young generations, 5 ms, 0.1–0.4 and 0.1 (bench/gc_pauses.py).
The price is memory: garbage waits longer for its collection, and a worker serving the editor
peaked at 160 MiB instead of 136 (the other pages: +1 MiB)."""
from __future__ import annotations

import gc

YOUNG, MIDDLE, OLD = 50_000, 20, 10  # gc.set_threshold's three (Python's default: 700, 10, 10)


def post_worker_init(worker) -> None:
    """Once the worker has loaded the app: what is loaded by now lives as long as the worker, and
    full collections need not walk it again (``gc.freeze``). Loading's own garbage goes first, or
    it would be kept for good. (Python 3.14's incremental collector reads the thresholds its own
    way: rerun bench/gc_pauses.py on it.)"""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG, MIDDLE, OLD)
