"""The job layer: the functions RQ workers run and the cron schedule that starts some of them.
Each runs inside the worker's app context (worker.py). This module imports the domain; the domain
never imports it, and hands work over through ``queue.current()``, which names these functions.
"""
from __future__ import annotations

import signal
from datetime import datetime, timezone

from rq import get_current_job

from . import accounts, alerts, imports, inbox, outbox, queue, settings
from .extensions import db
from .models import Import, MailAccount, User, utcnow


def heartbeat() -> str:
    """The cron process enqueues this every minute; a worker running it proves the background
    chain (cron → Redis → worker) is alive."""
    now = datetime.now(timezone.utc).isoformat()
    get_current_job().connection.set(queue.HEARTBEAT_KEY, now)
    return now


def tick() -> dict:
    """Every minute (cron): make what fell due, put back what a dead worker held, hand out batches."""
    return outbox.run_pass(utcnow(), settings.current().outbox, queue.current())


def send_messages(ids: list[int]) -> dict:
    """One batch of outbox messages, over one connection per studio and channel. SIGTERM (a
    restart) finishes the message in hand and gives the rest back (``stop_after_this_message``)."""
    previous = signal.signal(signal.SIGTERM, outbox.stop_after_this_message)
    try:
        return outbox.send_batch(ids, settings.current().outbox)
    finally:
        signal.signal(signal.SIGTERM, previous)


def hand_over(ids: list[int]) -> None:
    """A retry's moment has come: hand the message to a worker now, within the studio's sending
    limits and outside its quiet hours, as the pass would."""
    outbox.dispatch_now(ids)


def sync_inboxes() -> int:
    """Every two minutes (cron): one job per studio with an inbox, reading what is new there (its
    delivery reports too); a slow or broken inbox holds up no other studio."""
    accounts_to_sync = inbox.accounts_to_sync()
    for account in accounts_to_sync:
        queue.current().sync_inbox_of(account.studio_id)
    return len(accounts_to_sync)


def sync_inbox_of(studio_id: int) -> int:
    """One studio's sync, unless one runs already (a large first sync outlasts the interval)."""
    lock = get_current_job().connection.lock(queue.INBOX_SYNC_LOCK.format(studio_id),
                                             timeout=queue.INBOX_SYNC_TIMEOUT, blocking=False)
    if not lock.acquire():
        return 0
    try:
        account = db.session.scalar(db.select(MailAccount).where(MailAccount.studio_id == studio_id))
        return inbox.sync(account, utcnow()) if account is not None and account.imap_host else 0
    finally:
        lock.release()


def send_password_reset(user_id: int, reset_url: str) -> str:
    """In the worker, so that the page answers as fast for an address without an account as for
    one whose reset email takes an SMTP conversation: the timing tells nobody who signs in here.
    Returns what carried it (see ``accounts.send_password_reset``)."""
    user = db.session.get(User, user_id)
    return accounts.send_password_reset(user, reset_url) if user is not None else ""


def run_import(import_id: int) -> None:
    """A large CSV import, in the worker; the import page polls its progress."""
    record = db.session.get(Import, import_id)
    if record is not None and record.status == "queued":
        imports.run(record, utcnow())


# (name, function, on the urgent queue, every N seconds), registered by ``python worker.py cron``.
# RQ's cron has no lock and does not replay runs missed while it was down: run exactly one cron
# process, and let each job work out what is due from the database.
def mail_alerts() -> int:
    """Every minute (cron): each studio's new alerts in one email to its owner."""
    return alerts.mail_digests(settings.current().base_url, accounts.send_about_the_app)


CRON = (
    ("heartbeat", heartbeat, True, 60),
    ("alerts", mail_alerts, False, 60),
    ("outbox", tick, True, 60),  # the pass first, before any send job waiting in the main queue
    ("inbox", sync_inboxes, False, 120),  # enqueues one job per studio
)
