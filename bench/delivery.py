"""Delivery throughput: N queued messages through the real worker path (RQ job → claim → write →
send → record, one commit per message) into Postfix's smtp-sink on loopback, against a bare loop
that builds the same MIME message per recipient and sends it over one smtplib connection to the
same sink (the two take turns, five times, and their times are summed). Also: worker memory
after the run, the same on PostgreSQL, and with --workers 2 two `python worker.py` processes on
one PostgreSQL database and Redis, with duplicates at the sink.

Needs smtp-sink (Debian package postfix; .ci/run installs it) and the Redis and PostgreSQL that
CI provides on 127.0.0.1. Run: .venv/bin/python bench/delivery.py [N] [--workers 2]
"""
from __future__ import annotations

import argparse
import gc
import os
import re
import resource
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("INSTANCE_PATH", tempfile.mkdtemp())

import psycopg  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from rq import Queue, SimpleWorker  # noqa: E402

from app import create_app  # noqa: E402
from bench.scheduler import PG_ADMIN  # noqa: E402
from shutterbell import accounts, composer, jobs, mailsettings, outbox, profiles, queue, settings, tasks  # noqa: E402
from shutterbell.extensions import db  # noqa: E402
from shutterbell.models import Consent, Customer, Message, utcnow  # noqa: E402
from shutterbell.profiles import NotificationInput, ProfileInput  # noqa: E402

# What our studios write: umlauts, accents, Polish letters, € and emoji, in names and texts.
FIRST_NAMES = ("Jürgen", "Éloïse", "Łukasz", "Zoë", "Anna")
WELCOME = NotificationInput(
    trigger="customer_registered", days=None, audience="potential_buyers", channel="email",
    subject="Willkommen, {{ customer.first_name }} – Fotos von {{ job.name }} 📸",
    body="Hallo {{ customer.first_name }} {{ customer.last_name }},\n\nschön, dass Sie dabei sind! Grüße aus Köln, "
         "20 € Rabatt bis Freitag.\nMerci et à bientôt ; dziękujemy, Łódź 🎉\n\nGalerie: {{ job.gallery_url }}")

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
SENDER = "studio@bench.example"
MESSAGE_ID = re.compile(rb"^Message-ID: (\S+)", re.MULTILINE | re.IGNORECASE)


class Sink:
    """smtp-sink on a free loopback port, appending every message to one dump file."""

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp())
        self.folder.chmod(0o777)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        binary = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
        user = ["-u", "nobody"] if os.geteuid() == 0 else []
        self.process = subprocess.Popen([binary, *user, "-D", str(self.folder / "dump"), f"127.0.0.1:{self.port}",
                                         "256"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("smtp-sink did not start (apt-get install postfix)")

    def message_ids(self) -> list[bytes]:
        dump = self.folder / "dump"
        return MESSAGE_ID.findall(dump.read_bytes()) if dump.exists() else []

    def clear(self) -> None:
        (self.folder / "dump").unlink(missing_ok=True)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def seed(count: int, port: int):
    owner = accounts.create_studio(accounts.NewStudio("Bench", "Europe/Berlin", "de_DE", "b@example.com",
                                                      "benchmark-password"))
    studio = owner.studio
    account = mailsettings.save_smtp(mailsettings.account_of(studio), mailsettings.SmtpInput(
        "127.0.0.1", port, "none", "", "", SENDER, "Studio Bench", "hello@bench.example"), True, utcnow())
    profile = profiles.save_profile(studio, None, ProfileInput("Welcome", "", [WELCOME]))
    job = jobs.save_job(studio, None, jobs.JobInput(name="Big school", profile_id=profile.id,
                                                   gallery_url="https://g.example/big"), None)
    registered = utcnow() - timedelta(minutes=2)
    db.session.execute(sa.insert(Customer), [
        {"studio_id": studio.id, "job_id": job.id, "first_name": FIRST_NAMES[n % len(FIRST_NAMES)],
         "last_name": "Größe-Wąsowski",
         "email": f"kid{n}@example.com", "registered_at": registered, "confirmed_at": registered,
         "unsubscribe_token": uuid.uuid4().hex, "created_at": registered} for n in range(count)])
    db.session.execute(sa.insert(Consent), [
        {"studio_id": studio.id, "customer_id": cid, "channel": "email", "path": "import", "wording": "ok",
         "given_at": registered} for cid in db.session.scalars(sa.select(Customer.id))])
    db.session.commit()
    return studio, account


def make_messages(policy: outbox.Policy) -> list[list[int]]:
    outbox.schedule(utcnow() - timedelta(minutes=10), policy)
    outbox.schedule(utcnow(), policy)
    batches: list[list[int]] = []
    outbox.dispatch(utcnow(), policy, lambda ids, at_front: batches.append(ids))
    return batches


def worker_path(batches: list[list[int]]) -> float:
    """Batches as RQ jobs, run by an in-process SimpleWorker (no fork: the path, not RQ's fork)."""
    rq_queue = Queue("bench", connection=queue.connect(REDIS_URL))
    rq_queue.empty()
    for batch in batches:
        rq_queue.enqueue(tasks.send_messages, batch)
    start = time.perf_counter()
    SimpleWorker([rq_queue], connection=rq_queue.connection).work(burst=True, logging_level="WARNING")
    return time.perf_counter() - start


def bare_loop(studio, account, first: int, count: int, port: int) -> float:
    """The same MIME per recipient (same headers, same library), one smtplib connection."""
    template = db.session.scalars(sa.select(Message).limit(1)).one()
    start = time.perf_counter()
    client = smtplib.SMTP("127.0.0.1", port)
    client.ehlo()
    eight_bit = client.has_extn("8bitmime")
    for n in range(first, first + count):
        message = Message(key=f"bare:{n}", recipient=f"kid{n}@example.com", subject=template.subject,
                          body=template.body, message_id=composer.message_id_for(f"bare:{n}", SENDER),
                          due_at=template.due_at)
        mime = composer.build_email(message, account, f"https://bench.example/u/{n}", studio.name, utcnow(),
                                    eight_bit=eight_bit,
                                    untrusted=(FIRST_NAMES[n % len(FIRST_NAMES)], "Größe-Wąsowski", message.recipient))
        client.sendmail(SENDER, [message.recipient], composer.wire_bytes(mime),
                        ["BODY=8BITMIME"] if composer.needs_eight_bit(mime) else [])
    client.quit()
    return time.perf_counter() - start


def run(name: str, url: str, count: int, sink: Sink, rounds: int = 5) -> float:
    """The worker path and the bare loop take turns, a fifth of the messages each time: this
    machine's speed drifts by a fifth within a minute, and the ratio should not depend on which
    of the two ran in the slow minute."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": REDIS_URL, "BASE_URL": "https://bench.example",
                      "MAIL_PRIVATE_HOSTS": "allow"})
    with app.app_context():
        upgrade()
        studio, account = seed(count, sink.port)
        batches = make_messages(settings.current().outbox)
        gc.freeze()  # as worker.py does before its first job
        worker_seconds = bare_seconds = 0.0
        received = done = 0
        for turn in range(rounds):
            part = batches[turn * len(batches) // rounds:(turn + 1) * len(batches) // rounds]
            sink.clear()
            worker_seconds += worker_path(part)
            received += len(sink.message_ids())
            sink.clear()
            size = sum(len(batch) for batch in part)
            bare_seconds += bare_loop(studio, account, done, size, sink.port)
            done += size
        sent = db.session.scalar(sa.select(sa.func.count()).where(Message.status == "sent"))
        assert sent == count == received, (sent, count, received)
        rate, bare = count / worker_seconds, count / bare_seconds
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{name}: worker path {rate:,.0f} msg/s; bare loop {bare:,.0f} msg/s; ratio {rate / bare:.2f}; "
              f"peak RSS {rss:.0f} MB after {count:,} messages")
        db.session.remove()
        db.engine.dispose()
    return rate / bare


def two_workers(url: str, count: int, sink: Sink) -> None:
    """Two `python worker.py` processes (forking RQ workers) on one database and Redis."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": REDIS_URL, "QUEUE_NAME": "bench",
                      "BASE_URL": "https://bench.example", "MAIL_PRIVATE_HOSTS": "allow"})
    with app.app_context():
        upgrade()
        seed(count, sink.port)
        policy = settings.current().outbox
        rq_queue = Queue("bench", connection=queue.connect(REDIS_URL))
        rq_queue.empty()
        for batch in make_messages(policy):
            rq_queue.enqueue(tasks.send_messages, batch)
        sink.clear()
        env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": REDIS_URL, "QUEUE_NAME": "bench",
               "SECRET_KEY": app.config["SECRET_KEY"], "ENCRYPTION_KEYS": app.config["ENCRYPTION_KEYS"],
               "BASE_URL": "https://bench.example", "MAIL_PRIVATE_HOSTS": "allow"}  # smtp-sink on loopback
        start = time.perf_counter()
        workers = [subprocess.Popen([sys.executable, "worker.py", "--burst"], cwd=ROOT, env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(2)]
        for worker in workers:
            worker.wait()
        seconds = time.perf_counter() - start
        ids = sink.message_ids()
        print(f"two worker processes (PostgreSQL): {count / seconds:,.0f} msg/s including start-up; "
              f"{len(ids):,} received, {len(ids) - len(set(ids))} duplicates")
        db.session.remove()
        db.engine.dispose()


def scratch_postgres() -> tuple[str, str]:
    name = f"bench_delivery_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return name, PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1) + f"/{name}"


def drop_postgres(name: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("count", nargs="?", type=int, default=10000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    sink = Sink()
    names = []
    try:
        folder = Path(os.environ["INSTANCE_PATH"])
        sqlite_ratio = run("SQLite", f"sqlite:///{folder / 'bench.db'}", args.count, sink)
        name, url = scratch_postgres()
        names.append(name)
        pg_ratio = run("PostgreSQL", url, args.count, sink)
        if args.workers >= 2:
            name, url = scratch_postgres()
            names.append(name)
            two_workers(url, args.count, sink)
        print(f"worker path / bare loop: SQLite {sqlite_ratio:.2f}, PostgreSQL {pg_ratio:.2f} (goal >= 0.75, >= 500 msg/s)")
    finally:
        sink.stop()
        for name in names:
            drop_postgres(name)
        queue.connect(REDIS_URL).flushdb()


if __name__ == "__main__":
    main()
