"""Fault tests with real processes: an RQ worker (`python worker.py`) killed with SIGKILL in the
middle of sending, a Redis that forgets its queue, and an account whose password is changed at the
provider mid-way. The SMTP server (aiosmtpd) counts what
arrives by Message-ID; the database outbox and the sweeper must make every message arrive, with
at most one duplicate per kill, and each duplicate a row with attempts > 1."""
import collections
import os
import re
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from rq import Queue

from shutterbell import customers, jobs, mailsettings, outbox, queue, tasks
from shutterbell.extensions import db
from shutterbell.models import MailAccount, Message, utcnow

from .mailservers import PASSWORD, SENDER, USERNAME
from .test_scheduling import email as email_notification
from .test_scheduling import make_profile, use

ROOT = Path(__file__).resolve().parent.parent
LEASE = timedelta(seconds=3)
MESSAGE_ID = re.compile(rb"^Message-ID: (\S+)", re.MULTILINE | re.IGNORECASE)


@pytest.fixture
def setup(configure, app, olivia, server, certificate, monkeypatch):
    """Olivia's studio sends through the test server; a job whose profile welcomes each customer."""
    mailbox, port = server
    configure(mail_ca_file=str(certificate[0]))
    given = mailsettings.SmtpInput("127.0.0.1", port, "starttls", USERNAME, PASSWORD, SENDER, "Lichtblick", "")
    mailsettings.save_smtp(mailsettings.account_of(olivia.studio), given, True, utcnow())
    job = jobs.save_job(olivia.studio, None, jobs.JobInput(name="Abiball", profile_id=None), None)
    use(job, make_profile(olivia.studio, email_notification("customer_registered", audience="potential_buyers")))
    return app, mailbox, job


def add_customers(job, count: int) -> None:
    now = utcnow()
    for n in range(count):
        customers.add(job, customers.CustomerInput(f"Kid{n}", "X", f"kid{n}@example.com", email_consent=True,
                                                   marketing_consent=True),
                      "staff", {"email": "ok", "marketing": "offers ok"}, now)
    db.session.commit()


class Crew:
    """Starts `python worker.py` processes as the deployment does, with the test's database and Redis."""

    def __init__(self, app, certificate_path: str):
        self.app = app
        self.env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
                    "REDIS_URL": app.config["REDIS_URL"], "SECRET_KEY": app.config["SECRET_KEY"],
                    "ENCRYPTION_KEYS": app.config["ENCRYPTION_KEYS"], "MAIL_CA_FILE": certificate_path,
                    "BASE_URL": "https://photos.lichtblick.example", "MAIL_PRIVATE_HOSTS": "allow",
                    "OUTBOX_LEASE_SECONDS": str(int(LEASE.total_seconds()))}
        self.policy = outbox.Policy(base_url="https://photos.lichtblick.example", lease=LEASE,
                                    reenqueue_after=timedelta(seconds=1), batch_size=100)
        self.rq = Queue(app.config["QUEUE_NAME"], connection=queue.connect(app.config["REDIS_URL"]))
        self.clock = utcnow()

    def start(self, burst: bool = False) -> subprocess.Popen:
        args = [sys.executable, "worker.py"] + (["--burst"] if burst else [])
        return subprocess.Popen(args, cwd=ROOT, env=self.env, start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def tick(self) -> None:
        """What the cron pass does, on a clock that runs ahead so leases and hand-overs expire."""
        self.clock = max(self.clock, utcnow()) + LEASE + timedelta(seconds=2)
        outbox.schedule(self.clock, self.policy)
        outbox.sweep(self.clock, self.policy)
        outbox.dispatch(self.clock, self.policy, self.enqueue)

    def enqueue(self, ids: list[int], at_front: bool) -> None:
        self.rq.enqueue(tasks.send_messages, ids, at_front=at_front)

    def nudge(self) -> None:
        """While a worker runs: hand over again what sits queued (as if Redis had lost it), but
        never sweep, since the live worker's leases are valid."""
        if self.rq.count == 0:
            self.clock = max(self.clock, utcnow()) + timedelta(seconds=2)
            outbox.dispatch(self.clock, self.policy, self.enqueue)

    def finish(self, expected: int, mailbox, timeout: float = 120) -> None:
        """Ticks and burst workers until every message is sent."""
        deadline = time.monotonic() + timeout
        while sent_count() < expected:
            assert time.monotonic() < deadline, f"only {sent_count()} of {expected} sent"
            self.tick()
            self.start(burst=True).wait(timeout=120)


def sent_count() -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).where(Message.status == "sent"))


def wait_for(condition, timeout: float = 90, every_2s=None) -> None:
    """Poll ``condition``; ``every_2s`` runs meanwhile, as the cron pass keeps running in production."""
    deadline = time.monotonic() + timeout
    next_tick = time.monotonic() + 2
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        if every_2s and time.monotonic() > next_tick:
            every_2s()
            next_tick = time.monotonic() + 2
        time.sleep(0.02)


def kill_all(pid: int) -> None:
    """SIGKILL a worker and its work horse. RQ puts each forked job in a session of its own, so
    killing the worker's process group would leave the horse sending. The worker is stopped
    first: a horse it forked between listing its children and the kill would send on, orphaned,
    while the next worker sends the same batch (seen once under load: 102 duplicates)."""
    try:
        os.kill(pid, signal.SIGSTOP)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 5
    while _state_of(pid) not in ("T", "Z", None) and time.monotonic() < deadline:
        time.sleep(0.005)
    children = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _parent_of(p) == pid]
    for target in [*children, pid]:
        try:
            os.kill(target, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _state_of(pid: int) -> str | None:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def _parent_of(proc: Path) -> int | None:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def received_ids(mailbox) -> collections.Counter:
    return collections.Counter(MESSAGE_ID.search(raw).group(1).decode() for raw in list(mailbox.received))


def test_killing_the_worker_ten_times_loses_nothing_and_doubles_at_most_one_per_kill(setup, certificate):
    app, mailbox, job = setup
    add_customers(job, 2000)
    crew = Crew(app, str(certificate[0]))
    crew.tick()
    kills = 0
    for _ in range(10):
        worker = crew.start()
        try:
            target = len(mailbox.received) + 120
            wait_for(lambda: len(mailbox.received) >= target or sent_count() >= 2000, every_2s=crew.nudge)
        finally:
            kill_all(worker.pid)  # the worker and the job it forked, mid-send (and never left behind)
            worker.wait()
        kills += 1
        crew.tick()
    crew.finish(2000, mailbox)

    counts = received_ids(mailbox)
    rows = {m.message_id: m for m in db.session.scalars(sa.select(Message))}
    assert len(rows) == 2000 and set(counts) == set(rows)  # every message arrived
    duplicates = {mid: n for mid, n in counts.items() if n > 1}
    assert sum(n - 1 for n in duplicates.values()) <= kills
    assert all(rows[mid].attempts > 1 for mid in duplicates)  # the outbox shows each one
    assert any(m.attempts > 1 for m in rows.values())  # the kills did land mid-batch


def test_a_redis_that_forgets_its_queue_mid_batch_loses_nothing(setup, certificate):
    app, mailbox, job = setup
    add_customers(job, 1000)
    crew = Crew(app, str(certificate[0]))
    crew.tick()
    worker = crew.start()
    try:
        wait_for(lambda: len(mailbox.received) >= 150)
        queue.connect(app.config["REDIS_URL"]).flushdb()  # a restart without persistence: every queued job gone
        wait_for(lambda: sent_count() >= 1000, every_2s=crew.nudge)  # the pass hands over again
    finally:
        kill_all(worker.pid)
        worker.wait()
    assert len(mailbox.received) == 1000 and len(received_ids(mailbox)) == 1000  # all, and each once


def test_a_password_changed_mid_way_pauses_sending_and_every_message_goes_once_when_fixed(setup, certificate):
    app, mailbox, job = setup
    add_customers(job, 1000)
    mailbox.revoke_after = 300  # the provider starts answering 535 after 300 messages
    crew = Crew(app, str(certificate[0]))
    crew.tick()
    crew.start(burst=True).wait(timeout=120)
    db.session.expire_all()
    account = db.session.scalar(sa.select(MailAccount).where(MailAccount.studio_id == job.studio_id))
    assert account.smtp_failing_since is not None and account.smtp_failure_cause == "wrong_password"
    rows = db.session.scalars(sa.select(Message)).all()
    assert collections.Counter(m.status for m in rows) == {"sent": 300, "scheduled": 700}  # none failed or skipped
    assert all(m.attempts == 0 for m in rows if m.status == "scheduled")  # the pause counted against nobody
    crew.tick()
    assert crew.rq.count == 0  # paused: nothing handed over
    # The owner enters the new password; the test passes, sending resumes by itself.
    mailbox.revoke_after = None
    fixed = mailsettings.SmtpInput("127.0.0.1", account.smtp_port, "starttls", USERNAME, "changed-at-the-provider",
                                   SENDER, "Lichtblick", "")
    mailsettings.save_smtp(account, fixed, True, utcnow())
    crew.finish(1000, mailbox)
    assert len(mailbox.received) == 1000 and len(received_ids(mailbox)) == 1000  # all, and each once


def test_a_restart_finishes_the_message_in_hand_and_gives_the_rest_back_at_once(setup, certificate):
    """systemd stops the worker's unit: SIGTERM to every process in it, the worker and the process
    it forked for the batch. The message in hand is finished, the rest of the batch is back in the
    outbox when the worker has exited (no lease to wait for), and every message arrives once."""
    app, mailbox, job = setup
    add_customers(job, 300)
    mailbox.data_delay = 0.05  # a provider taking 50 ms a message: the batch is mid-way when stopped
    crew = Crew(app, str(certificate[0]))
    crew.tick()
    worker = crew.start()
    try:
        wait_for(lambda: len(mailbox.received) >= 20)
        stopped = time.monotonic()
        horses = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _parent_of(p) == worker.pid]
        for pid in (worker.pid, *horses):  # what KillMode=control-group does
            os.kill(pid, signal.SIGTERM)
        worker.wait(timeout=60)
        stopped_in = time.monotonic() - stopped
    finally:
        kill_all(worker.pid)
    db.session.expire_all()
    states = collections.Counter(db.session.scalars(sa.select(Message.status)))
    print(f"\nstopped in {stopped_in:.2f} s; then {dict(states)}")
    assert states["sending"] == 0  # nothing held by a lease: the rest can go at the next pass
    assert states["sent"] == len(mailbox.received) and 0 < states["sent"] < 300
    assert stopped_in < 10
    crew.finish(300, mailbox)
    assert len(received_ids(mailbox)) == 300 and len(mailbox.received) == 300  # all, and each once
