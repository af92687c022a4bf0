"""Load: 200 people sign up to one job at once on its public page, on PostgreSQL, from 200
different addresses (behind nginx: TRUSTED_PROXIES=1, so the per-address rate limit sees each),
served by gunicorn as `./run` serves it, with `python worker.py` sending the double opt-in
confirmations from the studio's account into Postfix's smtp-sink.

It checks what a studio relies on: every sign-up answered (no 5xx), each person stored once with
their consent, each confirmation made once and delivered once. It prints the answer times and how
long until the last confirmation reached the mail server.

Needs smtp-sink (postfix), redis-server and the PostgreSQL CI provides on 127.0.0.1.
Run: .venv/bin/python bench/signups.py [people]
"""
from __future__ import annotations

import http.cookiejar
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("INSTANCE_PATH", tempfile.mkdtemp())

import sqlalchemy as sa  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from app import create_app  # noqa: E402
from bench.delivery import SENDER, Sink, drop_postgres, scratch_postgres  # noqa: E402
from bench.pages import free_port  # noqa: E402
from shutterbell import accounts, jobs, mailsettings, message_keys  # noqa: E402
from shutterbell.extensions import db  # noqa: E402
from shutterbell.models import Consent, Customer, Message, utcnow  # noqa: E402

NAMES = ["Zoë", "Jürgen", "Łukasz", "Éloïse", "Małgorzata", "Søren", "Ådne", "Grégoire", "Weiß", "Ünal"]


def seed(sink_port: int) -> str:
    """A studio sending through the sink, with double opt-in (the default) and one job: its code."""
    owner = accounts.create_studio(accounts.NewStudio("Fotostudio Lichtblick", "Europe/Berlin", "de_DE",
                                                      "olivia@lichtblick.example", "benchmark-password"))
    mailsettings.save_smtp(mailsettings.account_of(owner.studio), mailsettings.SmtpInput(
        "127.0.0.1", sink_port, "none", "", "", SENDER, "Fotostudio Lichtblick", ""), True, utcnow())
    job = jobs.save_job(owner.studio, None, jobs.JobInput(name="Grundschule Süd – Klassenfotos 2026",
                                                         profile_id=owner.studio.default_profile_id), None)
    return job.access_code


def start(command: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_for(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            assert time.monotonic() < deadline and process.poll() is None, "gunicorn did not start"
            time.sleep(0.3)


def sign_up(base: str, code: str, n: int, go: threading.Barrier, answers: list) -> None:
    """One person on their phone: the page, then the form, from their own address."""
    address = f"10.{n // 250}.{n % 250}.{n % 7 + 1}"
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    go.wait()
    started = time.perf_counter()
    try:
        page = opener.open(urllib.request.Request(f"{base}/j/{code}", headers={"X-Forwarded-For": address}),
                           timeout=60).read().decode()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode({"csrf_token": token, "first_name": NAMES[n % len(NAMES)],
                                       "last_name": f"Größe-Wąsowski {n}", "email": f"kind{n}@example.de",
                                       "email_consent": "y"}).encode()
        status = opener.open(urllib.request.Request(f"{base}/j/{code}", form, headers={"X-Forwarded-For": address}),
                             timeout=60).status
    except urllib.error.HTTPError as error:
        status = error.code
    answers.append((status, time.perf_counter() - started))


def main(people: int) -> None:
    sink = Sink()
    redis_port, web_port = free_port(), free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", ""],
                             stdout=subprocess.DEVNULL)
    name, url = scratch_postgres()
    base = f"http://127.0.0.1:{web_port}"
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
           "SECRET_KEY": "bench-secret-key", "ENCRYPTION_KEYS": Fernet.generate_key().decode(), "BASE_URL": base,
           "TRUSTED_PROXIES": "1", "MAIL_PRIVATE_HOSTS": "allow"}
    os.environ.update(env)
    processes = []
    try:
        app = create_app()
        with app.app_context():
            upgrade()
            code = seed(sink.port)
        processes.append(start([str(ROOT / ".venv/bin/gunicorn"), "-c", "python:shutterbell.gunicorn_hooks", "--bind",
                                f"127.0.0.1:{web_port}", "--workers", "2", "--threads", "4", "app:create_app()"], env))
        processes.append(start([sys.executable, "worker.py"], env))
        wait_for(f"{base}/login", processes[0])

        answers: list = []
        go = threading.Barrier(people)
        threads = [threading.Thread(target=sign_up, args=(base, code, n, go, answers)) for n in range(people)]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        all_answered = time.perf_counter() - began
        deadline = time.monotonic() + 120
        while len(sink.message_ids()) < people and time.monotonic() < deadline:
            time.sleep(0.2)
        delivered = time.perf_counter() - began

        with app.app_context():
            stored = db.session.execute(sa.select(sa.func.count(), sa.func.count(sa.distinct(Customer.email)))).one()
            consents = db.session.scalar(sa.select(sa.func.count()).select_from(Consent))
            confirmations = [(customer_id, status) for customer_id, status, key in db.session.execute(
                sa.select(Message.customer_id, Message.status, Message.key)) if message_keys.is_confirmation(key)]
        ids = sink.message_ids()
        statuses = sorted({status for status, _ in answers})
        times = sorted(seconds for _, seconds in answers)
        print(f"{people} sign-ups at once (PostgreSQL, gunicorn 2×4, one worker): answers {statuses}, "
              f"{sum(s >= 500 for s, _ in answers)} 5xx")
        print(f"  answer time (page + form): median {statistics.median(times) * 1000:.0f} ms, "
              f"p99 {times[int(len(times) * 0.99) - 1] * 1000:.0f} ms, all answered after {all_answered:.1f} s")
        print(f"  stored: {stored[0]} customers ({stored[1]} addresses), {consents} consents")
        print(f"  confirmations made: {len(confirmations)} for {len({c for c, _ in confirmations})} customers, "
              f"{sum(s == 'sent' for _, s in confirmations)} sent")
        print(f"  at the mail server: {len(ids)} ({len(ids) - len(set(ids))} duplicates), the last "
              f"{delivered:.1f} s after the first sign-up")
        whole = (statuses == [200] and stored == (people, people) and consents == people
                 and len(confirmations) == people and len(set(ids)) == people == len(ids))
        print(f"all {people} stored once and confirmed once, none lost, no 5xx: {'yes' if whole else 'NO'}")
    finally:
        for process in processes:
            process.terminate()
            process.wait()
        redis.terminate()
        redis.wait()
        sink.stop()
        drop_postgres(name)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
