"""How many gunicorn workers and threads serve the heavy pages best, on the same SQLite data as
bench/pages.py: the bare endpoint, the job page and the profile editor at 20 connections (wrk),
for a few workers x threads, the Procfile's own (2 x 4) first and last. Prints requests/s and the
web process's CPU time a request, the median of ``rounds`` rounds each.

It once seemed that four threads halved the heavy pages (their threads waiting for each other's
GIL). That was wrk's 20 connections all taken by one of the two workers, the other idle: rounds
where a worker did less than half its share are now run again (``bench.pages.loaded``), and the
shapes then serve the heavy pages within about a tenth of each other.

Run: .venv/bin/python bench/web_concurrency.py [seconds] [rounds]      (needs wrk and redis-server)
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

from bench.pages import (BARE, free_port, loaded, private_redis, seeded_sqlite, serve,  # noqa: E402
                         signed_in_cookie, wrk)

SHAPES = [(2, 4), (2, 1), (4, 1), (3, 2), (2, 2), (2, 4)]  # (workers, threads); ./run's first and last


def measure(database_url: str, redis_url: str, ids: dict, workers: int, threads: int, seconds: int,
            rounds: int) -> dict[str, tuple[float, float]]:
    """page -> (requests/s, CPU ms a request), medians of ``rounds``."""
    port = free_port()
    server = serve(database_url, redis_url, port, workers=workers, threads=threads)
    try:
        base = f"http://127.0.0.1:{port}"
        cookie = signed_in_cookie(base)
        paths = {"bare": BARE, "job page": f"/jobs/{ids['job']}", "editor": f"/settings/profiles/{ids['profile']}"}
        for path in paths.values():
            wrk(base + path, cookie, 2)  # warm up
        runs = {label: [loaded(base + path, cookie, seconds, server.pid) for _ in range(rounds)]
                for label, path in paths.items()}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait()
    return {label: (statistics.median(r[0] for r in got), statistics.median(r[2] for r in got))
            for label, got in runs.items()}


def main(seconds: int, rounds: int) -> None:
    best = {}
    with private_redis() as redis_url, seeded_sqlite(redis_url) as (database_url, ids):
        for workers, threads in SHAPES:
            figures = measure(database_url, redis_url, ids, workers, threads, seconds, rounds)
            print(f"{workers} workers x {threads} threads: " + "  ".join(
                f"{label} {rate:6.1f} req/s {cpu:5.1f} ms CPU" for label, (rate, cpu) in figures.items()), flush=True)
            slowest = min(figures["job page"][0], figures["editor"][0])
            best[(workers, threads)] = max(best.get((workers, threads), 0), slowest)
    (workers, threads), rate = max(best.items(), key=lambda item: item[1])
    print(f"best for the heavy pages: {workers} workers x {threads} threads, the slower of the two at {rate:.1f} req/s"
          f" (./run: 2 x 4 at {best[(2, 4)]:.1f})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 4, int(sys.argv[2]) if len(sys.argv) > 2 else 3)
