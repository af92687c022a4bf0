"""The garbage collector's share of each page, as gunicorn serves it: with the app's tuning
(shutterbell/gunicorn_hooks.py: the loaded app frozen, larger young generations) and with Python's
default, alternating, on the same SQLite data as bench/pages.py. Prints the collector's
milliseconds per request, requests/s at 20 connections (wrk) and a worker's peak memory for each
page and setting. Worth
rerunning on a new Python: 3.14's collector is another one.

Run: .venv/bin/python bench/gc_pauses.py [seconds-per-page] [rounds]      (needs wrk and redis-server)
"""
from __future__ import annotations

import os
import signal
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("INSTANCE_PATH", tempfile.mkdtemp())

from bench.pages import free_port, private_redis, seeded_sqlite, serve, signed_in_cookie, wrk  # noqa: E402

SETTINGS = {"tuned": {}, "Python's default": {"BENCH_GC_DEFAULT": "1"}}


def pages(ids: dict) -> dict[str, str]:
    return {"bare (sign-in page)": "/login", "profile editor (30 notifications)": f"/settings/profiles/{ids['profile']}",
            "job page (2,000 customers)": f"/jobs/{ids['job']}", "outbox (10,000)": "/outbox/"}


def one_run(database_url: str, redis_url: str, path: str, seconds: int, setting: dict) -> tuple[float, float, float]:
    """(collector ms per request, requests/s, the larger worker's peak memory in MiB) of one page on
    a fresh gunicorn."""
    with tempfile.NamedTemporaryFile("r") as log:
        port = free_port()
        server = serve(database_url, redis_url, port, "python:bench.gc_hooks", BENCH_GC_LOG=log.name, **setting)
        try:
            base = f"http://127.0.0.1:{port}"
            cookie = signed_in_cookie(base)
            wrk(base + path, cookie, 2)  # warm up
            rate, _p99 = wrk(base + path, cookie, seconds)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait()
        workers = [line.split() for line in log.read().splitlines()]
    collected = sum(float(seconds_in_gc) for seconds_in_gc, _ in workers)  # both workers, warm-up included
    return collected * 1000 / (rate * (seconds + 2)), rate, max(int(peak) for _, peak in workers) / 1024


def main(seconds: int, rounds: int) -> None:
    with private_redis() as redis_url, seeded_sqlite(redis_url) as (database_url, ids):
        worst_saving = float("inf")
        for label, path in pages(ids).items():
            results = {name: [] for name in SETTINGS}
            for _ in range(rounds):
                for name, setting in SETTINGS.items():
                    results[name].append(one_run(database_url, redis_url, path, seconds, setting))
            line = []
            for name, runs in results.items():
                line.append(f"{name}: collector {statistics.median(r[0] for r in runs):5.1f} ms/request, "
                            f"{statistics.median(r[1] for r in runs):6.1f} req/s, "
                            f"peak {max(r[2] for r in runs):4.0f} MiB")
            print(f"{label:36} " + " | ".join(line), flush=True)
            if not label.startswith("bare"):
                default = statistics.median(r[0] for r in results["Python's default"])
                tuned = statistics.median(r[0] for r in results["tuned"])
                worst_saving = min(worst_saving, default - tuned)
    print(f"the tuning saves at least {worst_saving:.1f} ms of collector time per signed-in page's request")


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 8, int(sys.argv[2]) if len(sys.argv) > 2 else 2))
