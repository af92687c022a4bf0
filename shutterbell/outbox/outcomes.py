"""The one writer of a message's outcome (sent, failed, retried, given back), on the worker's
measured path."""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from redis.exceptions import RedisError
from sqlalchemy.orm.attributes import set_committed_value

from .. import alerts, diagnostics, queue
from ..extensions import db
from ..models import Message
from ..settings import Policy

log = logging.getLogger(__name__)


def record(message: Message, expect: str = "sending", **values) -> bool:
    """Commit one message's outcome, only while the row is still ``expect`` (erasure or a cancel
    may have moved it meanwhile); returns whether it did. The worker does this once per message, so it goes straight to
    the DB-API cursor of the session's own connection: through SQLAlchemy's execute and commit it
    took 441 µs a message on SQLite, this way 261 µs (bench/delivery.py)."""
    db.session.flush()  # what else changed with this message (a suppression, an SMS id) commits with it
    connection = db.session.connection()
    sql, convert = _outcome_statement(connection.dialect, tuple(sorted(values)))
    raw = connection.connection
    cursor = raw.cursor()
    try:
        cursor.execute(sql, convert(values, message.id, expect))
        recorded = cursor.rowcount == 1
    finally:
        cursor.close()
    raw.commit()  # the session's transaction goes on, with nothing pending (flushed above)
    for name, value in values.items():
        set_committed_value(message, name, value)
    return recorded


@functools.cache
def _outcome_statement(dialect: sa.Dialect, columns: tuple[str, ...]) -> tuple[str, Callable]:
    """The UPDATE of ``columns`` in the driver's own SQL, and what turns values into its parameters
    (the columns' bind processors: naive UTC for SQLite's datetimes, say)."""
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    quote = dialect.identifier_preparer.quote
    table = Message.__table__
    sql = (f"UPDATE {quote(table.name)} SET {', '.join(f'{quote(name)} = {mark}' for name in columns)} "
           f"WHERE id = {mark} AND status = {mark}")
    processors = [(name, table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) for name in columns]

    def convert(values: dict, ident: int, expect: str) -> tuple:
        return (*(process(values[name]) if process and values[name] is not None else values[name]
                  for name, process in processors), ident, expect)
    return sql, convert


def finish(message: Message, status: str, now: datetime, error: str = "", cause: str = "", named: str = "",
           alert: bool = True) -> bool:
    """Record the outcome; a failure is told to the owner unless ``alert`` is False (the caller
    tells it later, or never). Returns whether it was recorded (see ``record``)."""
    recorded = record(message, status=status, lease_until=None, last_error=error[:500], cause=cause,
            named_cause=named, sent_at=now if status == "sent" else message.sent_at)
    if recorded and status == "failed" and alert:  # (not when erasure or a cancel took the message meanwhile)
        alert_failure(message, now)
    return recorded


def alert_failure(message: Message, now: datetime) -> None:
    alerts.raise_alert(message.studio_id, "failed", _l(
        "A message to %(to)s failed for good: %(why)s", to=message.recipient, why=message.last_error or message.cause),
        f"/outbox/{message.id}", about=f"customer:{message.customer_id}" if message.customer_id
        else f"contact:{message.contact_id}" if message.contact_id else "", now=now)
    db.session.commit()


def give_back_failed(message: Message) -> bool:
    """A failure that proved to be the account's: the message waits again, its attempt uncounted,
    while it is still failed (a retry by hand or an erasure may have moved it meanwhile)."""
    return record(message, expect="failed", status="scheduled", lease_until=None, enqueued_at=None,
                  next_attempt_at=None, attempts=max(0, message.attempts - 1))


def retry_later(message: Message, diagnosis: diagnostics.Diagnosis, now: datetime, policy: Policy) -> None:
    """Back off and try again. A temporary failure is retried until the grace period is over (a
    server down for hours is not the message's fault)."""
    if now - message.due_at > policy.grace:
        finish(message, "failed", now, error=diagnosis.detail, cause=diagnosis.key, named=diagnosis.named)
        return
    wait = min(policy.first_retry * 2 ** (message.attempts - 1), policy.max_retry)
    record(message, status="scheduled", lease_until=None, enqueued_at=None, next_attempt_at=now + wait,
            last_error=diagnosis.detail[:500], cause=diagnosis.key, named_cause=diagnosis.named)
    try:  # at its moment; the cron pass after it hands it over too if Redis lost this (the claim decides)
        queue.current().hand_over_at([message.id], now + wait)
    except (RedisError, OSError):
        log.warning("Could not schedule the retry of message %s; the next pass will hand it over", message.id)


def release(messages: list[Message], next_attempt_at: datetime | None = None) -> None:
    """Back to the queue without counting the attempt (a paused account is not the message's fault)."""
    for message in messages:
        message.status, message.lease_until, message.enqueued_at = "scheduled", None, None
        message.attempts = max(0, message.attempts - 1)
        message.next_attempt_at = next_attempt_at
    db.session.commit()


def give_back_unsent(ids: list[int]) -> int:
    """Of a claimed batch, what is still untouched (status sending) goes back to the outbox now,
    its attempt uncounted; returns how many."""
    given = db.session.execute(sa.update(Message).where(Message.id.in_(ids), Message.status == "sending").values(
        status="scheduled", lease_until=None, enqueued_at=None,
        attempts=sa.case((Message.attempts > 0, Message.attempts - 1), else_=0))).rowcount
    db.session.commit()
    return given
