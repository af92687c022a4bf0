"""What one request to each page costs, alone: the same pages and data as bench/pages.py, asked
in this process (Flask's test client, no gunicorn, no other request at the same time), on SQLite
and PostgreSQL. Where bench/pages.py says how the pages hold up under 20 connections, this says
which page to work on, and shows a fix's effect without the noise of a loaded machine.

Run: .venv/bin/python bench/page_times.py [rounds] [part of a page's name, e.g. dashboard]
(needs redis-server)
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from app import create_app  # noqa: E402
from shutterbell import gunicorn_hooks, messages  # noqa: E402
from bench.pages import (BARE, OWNER, PASSWORD, PG_ADMIN, add_messages, pages_for, private_redis,  # noqa: E402
                         seed)


def times(name: str, database_url: str, redis_url: str, rounds: int, only: str) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": redis_url, "RATELIMIT_ENABLED": False})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        ids = seed()
        add_messages(ids, 0, 10_000)
    gunicorn_hooks.post_worker_init(None)  # the collector as the web process sets it
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
    client.post("/login", data={"csrf_token": token, "email": OWNER, "password": PASSWORD})
    for size in (10_000, 300_000):
        if size == 300_000:
            with app.app_context():
                add_messages(ids, 10_000, 300_000)
            app.extensions.pop(messages.FINISHED_DAYS, None)  # their days were counted at 10,000 (as a restart would)
        bare = {"bare (sign-in page)": BARE} if size == 10_000 else {}
        for label, path in {**bare, **pages_for(ids, size)}.items():
            if only not in label:
                continue
            started = time.perf_counter()
            client.get(path)  # warm: templates compiled, caches filled (the dashboard's finished days)
            first = (time.perf_counter() - started) * 1000
            spent = []
            for _ in range(rounds):
                started = time.perf_counter()
                assert client.get(path).status_code == 200, path
                spent.append((time.perf_counter() - started) * 1000)
            print(f"{name:10} {label:42} median {statistics.median(spent):7.1f} ms  max {max(spent):7.1f} ms"
                  f"  first {first:7.1f} ms", flush=True)


def main(rounds: int, only: str) -> None:
    labels = ["bare (sign-in page)", *pages_for({"profile": 0, "job": 0}, 10_000)]
    if only and not any(only in label for label in labels):
        sys.exit(f"no page's name holds {only!r}")
    pg_name = f"bench_times_{uuid.uuid4().hex[:8]}"
    with private_redis() as redis_url:
        try:
            with tempfile.TemporaryDirectory() as folder:
                times("sqlite", f"sqlite:///{folder}/bench.db", redis_url, rounds, only)
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{pg_name}"')
            base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
            times("postgresql", f"{base}/{pg_name}", redis_url, rounds, only)
        finally:
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
    print("one request alone, per page: the medians above (goal under bench/pages.py: p99 under 50 ms)")


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5, sys.argv[2] if len(sys.argv) > 2 else ""))
