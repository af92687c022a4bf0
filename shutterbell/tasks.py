"""Functions the RQ worker runs. Each runs inside the worker's app context (worker.py)."""
from __future__ import annotations

import logging
from datetime import datetime, timezone

from redis import Redis
from redis.exceptions import RedisError
from rq import get_current_job

log = logging.getLogger(__name__)

HEARTBEAT_KEY = "shutterbell:heartbeat"


def heartbeat() -> str:
    """The cron process enqueues this every minute; a worker running it proves the background
    chain (cron → Redis → worker) is alive. The scheduler pass joins it in the delivery issue."""
    now = datetime.now(timezone.utc).isoformat()
    get_current_job().connection.set(HEARTBEAT_KEY, now)
    return now


def last_heartbeat(connection: Redis) -> datetime | None:
    """When a worker last ran the heartbeat, or None (never, or Redis unreachable)."""
    try:
        value = connection.get(HEARTBEAT_KEY)
    except (RedisError, OSError):
        return None
    return datetime.fromisoformat(value.decode()) if value else None


def check_bounces() -> int:
    """Every 10 minutes (cron): one job per studio with an inbox, reading its reports of mail that
    could not be delivered; a slow or broken inbox holds up no other studio."""
    from flask import current_app

    from . import bounces, queue

    accounts = bounces.accounts_to_check()
    for account in accounts:
        queue.enqueue(current_app.config["REDIS_URL"], current_app.config["QUEUE_NAME"], check_bounces_of,
                      account.studio_id, timeout=BOUNCE_CHECK_TIMEOUT)
    return len(accounts)


BOUNCE_CHECK_TIMEOUT = 120  # seconds: connect, sign in, search and fetch, each with its own time limit


def check_bounces_of(studio_id: int) -> int:
    from . import bounces
    from .extensions import db
    from .models import MailAccount, utcnow

    account = db.session.scalar(db.select(MailAccount).where(MailAccount.studio_id == studio_id))
    return bounces.check_inbox(account, utcnow()) if account is not None and account.imap_host else 0


def queue_password_reset(config, user_id: int, reset_url: str) -> bool:
    """Hand the reset email to a worker; False (and logged) when Redis cannot take it: the page
    answers the same either way."""
    from . import queue

    try:
        queue.enqueue(config["REDIS_URL"], queue.urgent(config["QUEUE_NAME"]), send_password_reset, user_id, reset_url)
    except (RedisError, OSError):
        log.exception("Could not hand the password reset email to a worker")
        return False
    return True


def send_password_reset(user_id: int, reset_url: str) -> bool:
    """In the worker, so that the page answers as fast for an address without an account as for
    one whose reset email takes an SMTP conversation: the timing tells nobody who signs in here."""
    from . import accounts
    from .extensions import db
    from .models import User

    user = db.session.get(User, user_id)
    return user is not None and accounts.send_password_reset(user, reset_url)


def run_import(import_id: int) -> None:
    """A large CSV import, in the worker; the import page polls its progress."""
    from . import imports
    from .extensions import db
    from .models import Import, utcnow

    record = db.session.get(Import, import_id)
    if record is not None and record.status == "queued":
        imports.run(record, utcnow())


def tick() -> dict:
    """Every minute (cron): make what fell due, put back what a dead worker held, hand out batches."""
    from flask import current_app

    from . import outbox, queue
    from .models import utcnow

    policy = outbox.Policy.from_config(current_app.config)
    now = utcnow()
    made = outbox.schedule(now, policy)
    swept = outbox.sweep(now, policy)
    handed = outbox.dispatch(now, policy, lambda ids, at_front: queue.enqueue(
        current_app.config["REDIS_URL"], current_app.config["QUEUE_NAME"], send_messages, ids,
        timeout=current_app.config["OUTBOX_LEASE_SECONDS"], at_front=at_front))
    return {"made": made, "swept": swept, "dispatched": handed}


def send_messages(ids: list[int]) -> dict:
    """One batch of outbox messages, over one SMTP connection per studio."""
    from flask import current_app

    from . import outbox

    return outbox.send_batch(ids, outbox.Policy.from_config(current_app.config))


def dispatch_now(config, ids: list[int] | None = None) -> None:
    """Hand messages to the workers now (a confirmation, a retry, an approval) instead of at the
    next minute's pass: the given ones, or every ready one. If Redis is down the pass does it
    later: the database says what must go."""
    from . import outbox, queue
    from .models import utcnow

    policy = outbox.Policy.from_config(config)

    def enqueue(batch, at_front):  # on the urgent queue, no backlog to jump
        queue.enqueue(config["REDIS_URL"], queue.urgent(config["QUEUE_NAME"]), send_messages, batch,
                      timeout=config["OUTBOX_LEASE_SECONDS"])

    try:
        outbox.dispatch(utcnow(), policy, enqueue, only=ids)
    except (RedisError, OSError):
        pass
