"""Page speed as a studio sees it: the signed-in pages served by gunicorn as `./run` serves them
(2 workers, 4 threads), loaded by wrk at 20 connections, side by side in the same run with a bare
endpoint of the same app (the sign-in page: a template, no query). On the embedded SQLite and on
PostgreSQL (a scratch database, dropped afterwards).

Data: 50 profiles (one of 30 notifications), a job with 2,000 customers, and the outbox with
10,000 and then 300,000 messages (mostly sent; 40 failed, the rare status; one job holds 3,000);
the dashboard with them (its mail account card reads when the last message went).
Goal: each page at least 0.3 of the bare endpoint's requests/s, and p99 under 50 ms. The p99 one
visitor at a time sees is printed beside it ("alone"): at 20 connections a request waits for the
others, on average 20 / requests/s (Little's law), which no page at 0.3 of the bare one's rate on
two cores keeps under 50 ms. The bare endpoint's own p99 at 20 connections is printed too: where
it is over 50 ms, no page that costs more than a template can meet that part of the goal here.

A page's share is the median of three rounds, each the page right after the bare endpoint. The
bare rate alone once moved between 220 and 660 requests/s within one run: wrk's connections had
all gone to one of the two workers (see ``loaded``, which now runs such a round again).

Run: .venv/bin/python bench/pages.py [seconds-per-page]      (needs wrk and redis-server)
"""
from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("INSTANCE_PATH", tempfile.mkdtemp())

import psycopg  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from app import create_app  # noqa: E402
from shutterbell import accounts, mailsettings, profiles  # noqa: E402
from shutterbell.extensions import db  # noqa: E402
from shutterbell.models import Consent, Customer, Job, Message, utcnow  # noqa: E402
from shutterbell.profiles import NotificationInput, ProfileInput  # noqa: E402

PG_ADMIN = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
OWNER, PASSWORD = "bench@lichtblick.example", "benchmark-password"
TRIGGERS = [("customer_registered", None, "potential_buyers"), ("job_published", None, "all"),
            ("days_after_published", 3, "potential_buyers"), ("days_before_archived", 7, "all"),
            ("days_before_order_deadline", 2, "potential_buyers"), ("order_placed", None, "buyers")]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def private_redis() -> Iterator[str]:
    """A Redis of the bench's own, on a free port, keeping nothing; its URL."""
    port = free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""],
                             stdout=subprocess.DEVNULL)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        redis.terminate()
        redis.wait()


@contextmanager
def seeded_sqlite(redis_url: str) -> Iterator[tuple[str, dict]]:
    """A scratch SQLite database with the studio ``seed`` makes and 10,000 messages: (URL, ids)."""
    with tempfile.TemporaryDirectory() as folder:
        database_url = f"sqlite:///{folder}/bench.db"
        app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": redis_url})
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
            ids = seed()
            add_messages(ids, 0, 10_000)
            db.session.remove()
        yield database_url, ids


def seed() -> dict:
    """The studio, its 50 profiles, a job of 2,000 customers; returns the ids the pages need."""
    owner = accounts.create_studio(accounts.NewStudio("Fotostudio Lichtblick", "Europe/Berlin", "de_DE", OWNER,
                                                      PASSWORD))
    studio = owner.studio
    big = profiles.save_profile(studio, None, ProfileInput("Dreißig", "", [
        NotificationInput(trigger=t, days=d, audience=a, channel="email", subject=f"Nachricht {n}: {{{{ job.name }}}}",
                          body="Hallo {{ customer.first_name }}, {{ job.gallery_url }}")
        for n, (t, d, a) in ((n, TRIGGERS[n % len(TRIGGERS)]) for n in range(30))]))
    for n in range(48):  # with the two recommended ones: 50
        profiles.save_profile(studio, None, ProfileInput(f"Profil {n} – Kita Löwenzahn", "", [
            NotificationInput(trigger="job_published", days=None, audience="all", channel="email", subject="Online",
                              body="Hallo {{ customer.first_name }}")]))
    account = mailsettings.account_of(studio)  # the dashboard's "Mail accounts" card reads the outbox
    account.smtp_host, account.from_address = "smtp.example.de", "info@lichtblick.example"
    db.session.add(account)
    now = utcnow()
    db.session.execute(sa.insert(Job), [
        {"studio_id": studio.id, "profile_id": big.id, "name": f"Schule {j}", "status": "active",
         "access_code": f"P{j:07d}", "archives_at": date.today() + timedelta(days=60), "created_at": now,
         "updated_at": now} for j in range(100)])
    job_ids = db.session.scalars(sa.select(Job.id).order_by(Job.id)).all()
    rows = [{"studio_id": studio.id, "job_id": job_ids[0], "first_name": f"Zoë{n}", "last_name": "Łęcka",
             "email": f"kind{n}@example.de", "registered_at": now, "confirmed_at": now,
             "unsubscribe_token": uuid.uuid4().hex, "created_at": now} for n in range(2000)]
    db.session.execute(sa.insert(Customer), rows)
    customer_ids = db.session.scalars(sa.select(Customer.id).order_by(Customer.id)).all()
    # Every customer gets the job's emails, every other one offers too: the page lists what is coming
    # for them (the profile's "7 days before the job is archived" steps are offers).
    db.session.execute(sa.insert(Consent), [{"studio_id": studio.id, "customer_id": c, "channel": "email",
                                             "purpose": purpose, "path": "import", "wording": "ok", "given_at": now}
                                            for n, c in enumerate(customer_ids)
                                            for purpose in ("service", "marketing")[:1 + n % 2]])
    db.session.commit()
    sent_by = [n.id for n in big.notifications if n.category == "service"][:2]  # the welcome, "the photos are online"
    return {"studio": studio.id, "profile": big.id, "job": job_ids[0], "jobs": job_ids, "customers": customer_ids,
            "notifications": sent_by}


def add_messages(ids: dict, start: int, stop: int) -> None:
    """Outbox rows start..stop: sent, a few failed; the first job's 3,000 (its profile's welcome and "the
    photos are online": the job page sums up what they sent), the rest spread over 100 jobs."""
    now = utcnow()
    chunk = 20_000
    for low in range(start, stop, chunk):
        db.session.execute(sa.insert(Message), [
            {"studio_id": ids["studio"], "job_id": ids["job"] if n < 3000 else ids["jobs"][n % 100],
             "notification_id": ids["notifications"][n % 2] if n < 3000 else None,
             "customer_id": ids["customers"][n % 2000], "key": f"oneoff:bench:{n}", "channel": "email",
             "recipient": f"kind{n % 2000}@example.de", "subject": f"Eure Fotos {n}", "body": "Hallo",
             "due_at": now - timedelta(seconds=n), "status": "failed" if n % 7500 == 1 else "sent",
             "sent_at": now - timedelta(seconds=n), "created_at": now}
            for n in range(low, min(low + chunk, stop))])
        db.session.commit()
    if db.engine.dialect.name == "postgresql":  # as autovacuum leaves a table a while after a bulk insert:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:  # planner statistics,
            connection.execute(sa.text("VACUUM ANALYZE message"))  # and index-only scans that skip the table


def signed_in_cookie(base: str) -> str:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/login", timeout=30).read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    opener.open(base + "/login", urllib.parse.urlencode({"csrf_token": token, "email": OWNER,
                                                         "password": PASSWORD}).encode(), timeout=30).read()
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def wrk(url: str, cookie: str, seconds: int, connections: int = 20) -> tuple[float, float]:
    """(requests/s, p99 in ms) at 20 connections, or as many as asked."""
    done = subprocess.run(["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
                           "--latency", "-H", f"Cookie: {cookie}", url],
                          capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", done).group(1))
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", done).groups()
    p99 = float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", done)
    assert non_2xx is None, f"{url}: {non_2xx.group(0)}"
    return rate, p99


def serve(database_url: str, redis_url: str, port: int, config: str = "python:shutterbell.gunicorn_hooks",
          workers: int = 2, threads: int = 4, **settings: str) -> subprocess.Popen:
    """gunicorn as the Procfile's web process runs it (``config`` its settings module; another
    number of workers and threads for bench/web_concurrency.py)."""
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "SECRET_KEY": "bench-secret-key",
           "BASE_URL": f"http://127.0.0.1:{port}", "ENCRYPTION_KEYS": Fernet.generate_key().decode(), **settings}
    command = [str(ROOT / ".venv/bin/gunicorn"), "-c", config, "--bind", f"127.0.0.1:{port}",
               "--workers", str(workers), "--threads", str(threads), "app:create_app()"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2)
            return process
        except OSError:
            assert time.monotonic() < deadline and process.poll() is None, "gunicorn did not start"
            time.sleep(0.3)


BARE = "/login"


def pages_for(ids: dict, size: int) -> dict[str, str]:
    """label -> path of the pages measured with ``size`` messages in the outbox (the others once, at 10,000)."""
    others = {"profiles (50)": "/settings/profiles/",
              "profile editor (30 notifications)": f"/settings/profiles/{ids['profile']}",
              "job page (2,000 customers)": f"/jobs/{ids['job']}"}
    outbox = {"outbox": "/outbox/", "outbox, failed (rare)": "/outbox/?status=failed",
              "outbox, one job": f"/outbox/?job={ids['job']}", "dashboard": "/"}
    return {**(others if size == 10_000 else {}), **{f"{label} ({size:,})": path for label, path in outbox.items()}}


def measure(name: str, database_url: str, redis_url: str, seconds: int) -> list[tuple]:
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": redis_url})
    results = []
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        ids = seed()
        add_messages(ids, 0, 10_000)
        db.session.remove()
        port = free_port()
        for size in (10_000, 300_000):
            if size == 300_000:
                add_messages(ids, 10_000, 300_000)
                db.session.remove()
            server = serve(database_url, redis_url, port)
            try:
                base = f"http://127.0.0.1:{port}"
                cookie = signed_in_cookie(base)
                wrk(base + BARE, cookie, 2)  # warm up
                for label, path in pages_for(ids, size).items():
                    wrk(base + path, cookie, 2)
                    got = paired(base + path, base + BARE, cookie, seconds, server.pid)
                    got = got._replace(p99_alone=alone(base + path, cookie))
                    results.append((name, label, got))
                    print(f"{name:10} {label:42} {got.rate:8.1f} req/s (bare {got.bare:6.1f})  {got.cpu_ms:5.1f} ms CPU"
                          f" a request  p99 {got.p99:7.1f} ms (alone {got.p99_alone:5.1f}, bare {got.bare_p99:5.1f})",
                          flush=True)
            finally:
                os.killpg(server.pid, signal.SIGTERM)
                server.wait()
    return results


class Measured(NamedTuple):
    rate: float  # requests/s
    bare: float  # the bare endpoint's, in the same rounds
    share: float  # of the bare endpoint's requests/s
    cpu_ms: float  # the web process's CPU time a request
    cpu_share: float  # the bare endpoint's CPU time a request, of this page's
    p99: float  # ms
    bare_p99: float  # ms, the bare endpoint's in the same rounds
    # ms, one visitor at a time: what a studio's few people see. At 20 connections each request
    # also waits for the 19 before it: 20 / requests/s on average (Little's law), so a page at
    # 0.3 of a bare endpoint's 400-650 requests/s waits 100-170 ms, whatever its own time.
    p99_alone: float = 0.0


def paired(url: str, bare_url: str, cookie: str, seconds: int, server: int, rounds: int = 3) -> Measured:
    """Medians of ``rounds`` rounds of the bare endpoint then the page (``seconds`` in all for the
    page). CPU time a request is the figure that repeats best: the requests/s of the same code
    moved up to threefold between runs here (how wrk's connections fell to the workers, see
    ``loaded``, and other machines' load on the same host), its CPU time by a tenth. It counts gunicorn's processes only, not PostgreSQL's: a page that hands work to the
    database looks cheaper by it than it is (SQLite's work is the web process's own)."""
    each = max(2, round(seconds / rounds))
    pairs = [(loaded(bare_url, cookie, each, server), loaded(url, cookie, each, server)) for _ in range(rounds)]
    median = statistics.median
    return Measured(median(page[0] for _, page in pairs), median(bare[0] for bare, _ in pairs),
                    median(page[0] / bare[0] for bare, page in pairs), median(page[2] for _, page in pairs),
                    median(bare[2] / page[2] for bare, page in pairs), median(page[1] for _, page in pairs),
                    median(bare[1] for bare, _ in pairs))


def alone(url: str, cookie: str, seconds: int = 4) -> float:
    """p99 in ms one request at a time, once the requests wrk left in flight are served (at 20
    connections they keep the workers busy for some 80 ms after it stops)."""
    time.sleep(1)
    return wrk(url, cookie, seconds, connections=1)[1]


def loaded(url: str, cookie: str, seconds: int, server: int, tries: int = 4) -> tuple[float, float, float]:
    """(requests/s, p99 in ms, the server's CPU ms per request) under wrk.

    wrk opens its 20 keep-alive connections at once, and one gunicorn worker may accept all of
    them: the other idles for the whole run and the rate halves (here the bare page did 290
    req/s with one worker at 99 % of the CPU, 660 with both at 50 %). Visitors who arrive one by
    one are not shared out like that, so a round in which a worker did less than half its fair
    share is run again (up to ``tries`` times)."""
    for _ in range(tries):
        before = cpu_ticks(server)
        rate, p99 = wrk(url, cookie, seconds)
        after = cpu_ticks(server)
        used = [after[pid] - before.get(pid, 0) for pid in after if pid != server]
        if min(used) >= 0.5 * sum(used) / len(used):
            break
    return rate, p99, (sum(after.values()) - sum(before.values())) / os.sysconf("SC_CLK_TCK") * 1000 / (rate * seconds)


def cpu_ticks(master: int) -> dict[int, int]:
    """Clock ticks of CPU time gunicorn's workers have used so far, by process id (Linux's /proc),
    and under the master's own id its own and that of workers it has replaced."""
    ticks = {}
    for entry in [Path(f"/proc/{master}"), *Path("/proc").iterdir()]:
        try:
            stat = (entry / "stat").read_text() if entry.name.isdigit() else ""
        except OSError:  # a process that just ended
            continue
        fields = stat.rsplit(")", 1)[1].split() if stat else []
        if fields and int(entry.name) == master:
            ticks[master] = sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
        elif fields and int(fields[1]) == master:  # a worker (its parent: the master)
            ticks[int(entry.name)] = int(fields[11]) + int(fields[12])
    return ticks


def report(results: list[tuple]) -> tuple[float, float]:
    """The worst page's share of the bare endpoint's requests/s, and by CPU time, for the last line."""
    print(f"\n{'database':10} {'page':42} {'req/s':>7} {'bare':>7} {'of bare':>8} {'CPU ms':>7} {'by CPU':>7} "
          f"{'p99':>7} {'alone':>6} {'bare':>6}  goal")
    for name, label, got in results:
        # the goal as the issue states it; which part a page missed (p99: at 20 connections)
        met = "ok" if got.share >= 0.3 and got.p99 < 50 else "share" if got.share < 0.3 else "p99"
        print(f"{name:10} {label:42} {got.rate:7.1f} {got.bare:7.1f} {got.share:8.2f} {got.cpu_ms:7.1f}"
              f" {got.cpu_share:7.2f} {got.p99:7.1f} {got.p99_alone:6.1f} {got.bare_p99:6.1f}  {met}")
    print(f"p99 at 20 connections {min(got.p99 for *_, got in results):.0f}-{max(got.p99 for *_, got in results):.0f} ms"
          f", one visitor at a time at most {max(got.p99_alone for *_, got in results):.1f} ms, the bare endpoint's "
          f"at 20 connections {min(got.bare_p99 for *_, got in results):.0f}-{max(got.bare_p99 for *_, got in results):.0f} ms")
    return min(got.share for _, _, got in results), min(got.cpu_share for _, _, got in results)


def main(seconds: int) -> None:
    pg_name = f"bench_pages_{uuid.uuid4().hex[:8]}"
    results = []
    with private_redis() as redis_url:
        try:
            with tempfile.TemporaryDirectory() as folder:
                results += measure("sqlite", f"sqlite:///{folder}/bench.db", redis_url, seconds)
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{pg_name}"')
            base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
            results += measure("postgresql", f"{base}/{pg_name}", redis_url, seconds)
        finally:
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
    worst, worst_by_cpu = report(results)
    print(f"worst page: {worst:.2f} of the bare endpoint's requests/s, {worst_by_cpu:.2f} by CPU time a request "
          "(goal: at least 0.30)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
