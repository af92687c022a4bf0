"""The outbox: the scheduler pass that makes due messages, the dispatcher and sweeper that hand
them to workers, and the worker's send path. The database is the source of truth; Redis/RQ only
carries message ids, so a lost RQ job or a flushed Redis loses nothing.

Every function takes ``now``: tests run a pass at any instant in-process.
"""
from __future__ import annotations

import functools
import logging
import smtplib
import ssl
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from redis.exceptions import RedisError
from rq.timeouts import BaseTimeoutException
from sqlalchemy.orm.attributes import set_committed_value

from . import (composer, diagnostics, mailcheck, mailsettings, materialise, queue, scheduling, settings, sms, suppression,
               templating)
from .diagnostics import DeliveryFailure
from .extensions import db
from .settings import Policy
from .models import (Consent, Customer, Job, MailAccount, Message, Notification, Order, SchedulerPass, Studio, Voucher,
                     utcnow)


log = logging.getLogger(__name__)

# A registration committed just after a pass read the clock can carry an earlier timestamp than
# the pass: each pass looks this far behind the last one (the unique key makes overlaps harmless).
# Such a race lasts as long as a transaction, far less than this; a longer overlap would re-check
# a large import's rows on every pass.
OVERLAP = timedelta(minutes=1)


# ---- the scheduler pass -------------------------------------------------------------------------

def schedule(now: datetime, policy: Policy) -> int:
    """Make the Message row of every moment that fell due since the last pass; returns how many.
    Safe to run twice at once, or after hours of downtime: it works from the database, not from
    "the last minute", and the unique key drops what another pass made."""
    last = db.session.scalar(sa.select(sa.func.max(SchedulerPass.started_at)))
    since = last - OVERLAP if last else now - policy.grace
    late = _("Its moment passed more than %(hours)d hours before the app could send it.",
             hours=policy.grace.total_seconds() // 3600)
    no_account = _("No text message account was set up when this text fell due.")
    made = materialise.make_due(materialise.Pass(since, now, now - policy.grace, late, no_account))
    db.session.add(SchedulerPass(started_at=now, finished_at=utcnow(), made=made))
    db.session.commit()
    batches: dict[int, _Batch] = {}
    for message in db.session.scalars(sa.select(Message).where(
            Message.status == "awaiting_approval", Message.body == "")).all():
        if message.studio_id not in batches:
            batches[message.studio_id] = _Batch(db.session.get(Studio, message.studio_id), policy)
        if message.customer is None:
            _record(message, expect=message.status, status="skipped", last_error=_customer_removed())
            continue
        try:
            problem = batches[message.studio_id].write(message)  # an approver sees exactly what will go out
        except Exception:  # one message must not stop every studio's pass; the worker writes it later
            log.exception("Writing message %s for approval failed unexpectedly", message.id)
            db.session.rollback()
            continue
        if problem:
            _record(message, expect=message.status, status="failed", last_error=problem, cause="render_error")
    for batch in batches.values():
        batch.store_written()
    return made


def _occurrence_of(key: str) -> tuple[str, str, str]:
    """("order", ":", "17") from "3:12:5:order:17"; the occurrence is the key's tail."""
    occurrence = key.split(":", 3)[3]
    return occurrence.partition(":")


def _insert_new(rows: list[dict]) -> int:
    """INSERT ... ON CONFLICT (key) DO NOTHING, on SQLite and PostgreSQL alike."""
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(Message).on_conflict_do_nothing(index_elements=["key"]).returning(Message.id)
    return len(db.session.execute(statement, rows).all())


def cancel_ahead(job: Job, key: str, now: datetime) -> bool:
    """Cancel one coming message from the job's timeline: its row is made now, as cancelled, so
    the unique key keeps the scheduler from ever making it. Only a moment the timeline shows."""
    moment = next((m for m in scheduling.coming(job, now) if scheduling.key_of(job, m) == key), None)
    if moment is None:
        return False
    customer = moment.customer
    _insert_new([{"studio_id": job.studio_id, "job_id": job.id, "customer_id": customer.id,
                  "notification_id": moment.notification.id, "key": key, "channel": moment.notification.channel,
                  "recipient": customer.email if moment.notification.channel == "email" else customer.phone,
                  "subject": "", "body": "", "message_id": "", "due_at": moment.due_at, "status": "cancelled",
                  "last_error": _("Cancelled from the job's timeline before it was due."), "created_at": now}])
    db.session.commit()
    return True


def queue_confirmation(customer: Customer, now: datetime) -> Message | None:
    """The double opt-in email, made at once when a public sign-up needs confirming. The link and
    the "someone asked for this" note are added below the studio's text: no edit leaves them out."""
    if customer.confirmed_at is not None or customer.confirm_token is None:
        return None
    studio = db.session.get(Studio, customer.studio_id)
    job = db.session.get(Job, customer.job_id)
    account = mailsettings.account_of(studio)
    subject, body = composer.confirmation_texts(studio)
    base_url = settings.current().base_url
    key = f"confirm:{customer.id}"
    row = {"studio_id": studio.id, "job_id": job.id, "customer_id": customer.id, "key": key, "channel": "email",
           "recipient": customer.email, "due_at": now, "status": "scheduled", "last_error": "",
           "message_id": composer.message_id_for(key, account.from_address), "created_at": now}
    try:
        rendered = templating.render(subject, body, "email", composer.context_for(studio, job, customer, base_url))
        row.update(subject=rendered.subject, body=composer.confirmation_body(rendered.text, base_url, customer))
    except templating.TemplateProblem as problem:
        row.update(status="failed", last_error=str(problem)[:500], cause="render_error", subject="", body="")
    _insert_new([row])
    db.session.commit()
    return db.session.scalar(sa.select(Message).where(Message.key == key))


# ---- handing messages to workers ----------------------------------------------------------------

def sweep(now: datetime, policy: Policy) -> int:
    """Messages whose worker died mid-send (lease expired) go back to the queue. They are sent
    again with the same Message-ID: at most one duplicate per crash, and ``attempts`` shows it.
    One that has killed its worker ``max_attempts`` times fails instead of killing the next."""
    expired = sa.and_(Message.status == "sending", Message.lease_until < now)
    db.session.execute(sa.update(Message).where(expired, Message.attempts >= policy.max_attempts)
                       .values(status="failed", lease_until=None, cause="other",
                               last_error="The worker stopped while sending this message, every time it tried."))
    result = db.session.execute(sa.update(Message).where(expired)
                                .values(status="scheduled", lease_until=None, enqueued_at=None))
    db.session.commit()
    return result.rowcount


def dispatch(now: datetime, policy: Policy, enqueue: Callable[[list[int], bool], object], limit: int = 20000,
             only: list[int] | None = None) -> int:
    """Hand ready messages to workers in batches, studio by studio in turn, and no studio past its
    provider's sending limits. ``enqueue(batch, at_front)``: the first batch of a studio that has
    nothing on its way goes to the front of the queue, so another studio's backlog handed over
    earlier does not hold up its reminder. A message handed over but never claimed (Redis flushed,
    job lost) is handed over again after ``reenqueue_after``."""
    sendable = sa.select(MailAccount.studio_id).where(MailAccount.smtp_host != "", MailAccount.from_address != "",
                                                      MailAccount.smtp_failing_since.is_(None))
    channel_ready = sa.or_(sa.and_(Message.channel == "email", Message.studio_id.in_(sendable)),
                           sa.and_(Message.channel == "sms", Message.studio_id.in_(sms.studios_ready(now))))
    ready = db.session.execute(
        sa.select(Message.id, Message.studio_id, Message.channel)
        .where(sa.or_(Message.status == "scheduled",
                      sa.and_(Message.status == "queued", sa.or_(Message.enqueued_at.is_(None),
                                                                 Message.enqueued_at < now - policy.reenqueue_after))),
               channel_ready,
               Message.due_at <= now,  # a one-off message for later waits for its time
               sa.or_(Message.next_attempt_at.is_(None), Message.next_attempt_at <= now),
               Message.id.in_(only) if only is not None else sa.true())
        .order_by(Message.due_at, Message.id).limit(limit)).all()
    ready = _within_limits(ready, now, policy)
    if not ready:
        return 0
    busy = _studios_on_their_way(now, policy)
    ids = [row.id for row in ready]
    for chunk in _chunks(ids, 1000):
        db.session.execute(sa.update(Message).where(Message.id.in_(chunk), Message.status.in_(("scheduled", "queued")))
                           .values(status="queued", enqueued_at=now))
    db.session.commit()  # before enqueueing: a fast worker must find the rows it is given
    for batch, at_front in _fair_batches(ready, policy.batch_size, busy):
        enqueue(batch, at_front)
    return len(ids)


def run_pass(now: datetime, policy: Policy, jobs: queue.JobQueue) -> dict[str, int]:
    """The cron's minute: make what fell due, put back what a dead worker held, hand out batches."""
    made = schedule(now, policy)
    swept = sweep(now, policy)
    handed = dispatch(now, policy, lambda ids, at_front: jobs.send_messages(ids, at_front=at_front))
    return {"made": made, "swept": swept, "dispatched": handed}


def dispatch_now(ids: list[int] | None = None) -> None:
    """Hand messages to the workers now (a confirmation, a retry, an approval) instead of at the
    next minute's pass: the given ones, or every ready one, on the urgent queue (no backlog to
    jump). If Redis is down the pass does it later: the database says what must go."""
    jobs = queue.current()
    try:
        dispatch(utcnow(), settings.current().outbox, lambda batch, at_front: jobs.send_messages(batch, now=True),
                 only=ids)
    except (RedisError, OSError):
        log.warning("Could not hand messages to a worker now; the next pass will", exc_info=True)


def _studios_on_their_way(now: datetime, policy: Policy) -> set[int]:
    """Studios with messages handed to workers and not yet finished (a long-lost hand-over aside)."""
    return set(db.session.scalars(sa.select(Message.studio_id).where(sa.or_(
        Message.status == "sending",
        sa.and_(Message.status == "queued", Message.enqueued_at >= now - policy.reenqueue_after))).distinct()))


def _within_limits(ready: list, now: datetime, policy: Policy) -> list:
    """Keep each studio under its account's limits per minute and per rolling 24 hours: what was
    sent, is being sent, or was just handed over counts; the rest waits for a later pass (waiting
    on a limit never makes a message late)."""
    limits = {a.studio_id: (a.limit_per_minute, a.limit_per_day) for a in db.session.scalars(
        sa.select(MailAccount).where(MailAccount.studio_id.in_({row.studio_id for row in ready if row.channel == "email"}),
                                     sa.or_(MailAccount.limit_per_minute.is_not(None),
                                            MailAccount.limit_per_day.is_not(None))))}
    allowance = {studio_id: min(_room(studio_id, per_minute, timedelta(minutes=1), now, policy),
                                _room(studio_id, per_day, timedelta(days=1), now, policy))
                 for studio_id, (per_minute, per_day) in limits.items()}
    kept = []
    for row in ready:
        if row.channel == "email" and row.studio_id in allowance:  # the mail account's limits
            if allowance[row.studio_id] <= 0:
                continue
            allowance[row.studio_id] -= 1
        kept.append(row)
    return kept


def _room(studio_id: int, limit: int | None, window: timedelta, now: datetime, policy: Policy) -> float:
    if limit is None:
        return float("inf")
    # A count per status, so each reads its own stretch of the status index, not the studio's history.
    mine = sa.and_(Message.studio_id == studio_id, Message.channel == "email")
    used = sum(db.session.scalar(sa.select(sa.func.count()).where(mine, *conditions)) for conditions in (
        (Message.sent_since(now - window),),
        (Message.status == "sending",),
        (Message.status == "queued", Message.enqueued_at >= now - policy.reenqueue_after)))
    return limit - used


def _fair_batches(rows, size: int, busy: set[int]) -> list[tuple[list[int], bool]]:
    """Batches studio by studio in turn, each with whether it goes to the front of the queue: the
    first batch of a studio with nothing on its way. Those are handed over first, last to first,
    so that at the front they keep their turn."""
    per_studio: dict[int, list[list[int]]] = {}
    for row in rows:
        batches = per_studio.setdefault(row.studio_id, [[]])
        if len(batches[-1]) >= size:
            batches.append([])
        batches[-1].append(row.id)
    jumping = [batches[0] for studio_id, batches in per_studio.items() if studio_id not in busy]
    rounds = max(len(b) for b in per_studio.values())
    in_turn = [b[i] for i in range(rounds) for studio_id, b in per_studio.items()
               if i < len(b) and not (i == 0 and studio_id not in busy)]
    return [(batch, True) for batch in reversed(jumping)] + [(batch, False) for batch in in_turn]


def _chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# ---- the worker ---------------------------------------------------------------------------------

def claim(ids: list[int], now: datetime, policy: Policy) -> list[int]:
    """Compare-and-set queued → sending with a lease. Whoever changes the row sends it: an RQ job
    run twice, or two workers given the same ids, send nothing twice. SKIP LOCKED (PostgreSQL) lets
    a second worker pass over rows the first is claiming instead of waiting for them."""
    claimable = (sa.select(Message.id)
                 .where(Message.id.in_(ids), Message.status == "queued",
                        sa.or_(Message.next_attempt_at.is_(None), Message.next_attempt_at <= now))
                 .with_for_update(skip_locked=True))
    # No second status test on the outer UPDATE: the rows the subquery found queued are locked
    # (PostgreSQL) or the statement holds the write lock (SQLite), so they are still queued. With
    # it, PostgreSQL's planner could drive the claim from every queued row (estimates are stale
    # after a pass's large insert): 2 s per claim of 200 of 3,000 queued, instead of 6 ms.
    claimed = db.session.scalars(
        sa.update(Message).where(Message.id.in_(claimable))
        .values(status="sending", attempts=Message.attempts + 1, lease_until=now + policy.lease)
        .returning(Message.id)).all()
    db.session.commit()
    return sorted(claimed)


def send_batch(ids: list[int], policy: Policy, clock: Callable[[], datetime] = utcnow,
               context: ssl.SSLContext | None = None) -> dict[str, int]:
    """Claim, then send each claimed email over one SMTP connection per studio, committing each
    message's outcome on its own. Returns counts per outcome."""
    outcome: Counter[str] = Counter()
    claimed = claim(ids, clock(), policy)
    session = db.session()
    # One commit per message must not reload the batch's rows after each: they are ours (claimed)
    # or read once for the whole batch.
    session.expire_on_commit, expire_on_commit = False, session.expire_on_commit
    try:
        messages = _load_with_parents(claimed)
        by_studio: dict[int, list[Message]] = {}
        for message in messages:
            by_studio.setdefault(message.studio_id, []).append(message)
        for studio_id, batch in by_studio.items():
            studio_batch = _Batch(db.session.get(Studio, studio_id), policy)
            studio_batch.read_customers(batch)
            _send_studio_batch(studio_batch, batch, clock, context, outcome)
    finally:
        session.expire_on_commit = expire_on_commit
    return dict(outcome)


def _load_with_parents(ids: list[int]) -> list[Message]:
    """The messages, each with its customer, job and notification: a query per kind, joined up
    here. ``selectinload`` did the same queries but cost 20 µs more per message (bench/delivery.py)."""
    messages = db.session.scalars(sa.select(Message).where(Message.id.in_(ids))
                                  .order_by(Message.studio_id, Message.id)).all()
    for name, model in (("customer", Customer), ("job", Job), ("notification", Notification)):
        column = f"{name}_id"
        wanted = {getattr(m, column) for m in messages} - {None}
        rows = db.session.scalars(sa.select(model).where(model.id.in_(wanted))) if wanted else []
        found = {row.id: row for row in rows}
        for message in messages:
            set_committed_value(message, name, found.get(getattr(message, column)))
    return messages


def _send_studio_batch(studio_batch: _Batch, messages: list[Message], clock, context, outcome) -> None:
    """The studio's emails over one SMTP connection, then its texts through its SMS provider."""
    ready = _prepare(studio_batch, messages, clock, outcome)
    emails = [m for m in ready if m.channel == "email"]
    texts = [m for m in ready if m.channel == "sms"]
    if emails:
        with SmtpSession(studio_batch.account, context or mailsettings.tls_context()) as session:
            _send_each(session, studio_batch, emails, clock, outcome)
    if texts:
        account = sms.account_of(studio_batch.studio)
        if not sms.may_text(account, studio_batch.studio, clock()):  # quiet hours began, or the account paused
            _release(texts)
            outcome["held"] += len(texts)
            return
        with sms.SmsSession(account, sms.Provider.configured()) as session:
            _send_each(session, studio_batch, texts, clock, outcome)


def _send_each(session: SmtpSession | sms.SmsSession, studio_batch: _Batch, batch: list[Message], clock,
               outcome: Counter[str]) -> None:
    for position, message in enumerate(batch):
        result = _attempt(session, message, studio_batch, clock)
        if result == "hold":  # the provider's quota for today: everything waits an hour, uncounted
            _release(batch[position:], next_attempt_at=clock() + HOLD)
            outcome["held"] += len(batch) - position
            return
        if result == "pause":
            _release(batch[position:])
            outcome["paused"] += len(batch) - position
            return
        outcome[result] += 1
        if result == "retry" and session.broken and message.cause in _SERVER_GONE:
            _release(batch[position + 1:], next_attempt_at=message.next_attempt_at)  # the rest wait too
            return


_SERVER_GONE = ("connection_refused", "timeout", "host_not_found")
HOLD = timedelta(hours=1)


def _prepare(batch: _Batch, messages: list[Message], clock, outcome: Counter[str]) -> list[Message]:
    """Skip what is no longer wanted and fail what cannot be written; store the texts of the rest
    in one commit before the first is sent (a resend after a crash, or a retry, then goes out with
    the same text and Message-ID, and each send commits only its outcome). Returns the rest."""
    ready = []
    for message in messages:
        try:
            reason = batch.why_not(message)
            problem = "" if reason else batch.write(message)
        except BaseTimeoutException:
            raise  # RQ's job timeout (an Exception too): stop now, as _attempt does
        except Exception as exc:  # a bug must not stop the batch, nor hit this message forever
            outcome[_unexpected(message, exc, batch.policy, clock())] += 1
            continue
        if reason:
            _finish(message, "skipped", clock(), error=reason)
            outcome["skipped"] += 1
        elif problem:
            _finish(message, "failed", clock(), error=problem, cause="render_error")
            outcome["failed"] += 1
        else:
            ready.append(message)
    batch.store_written()
    return ready


def _attempt(session: SmtpSession | sms.SmsSession, message: Message, batch: _Batch, clock) -> str:
    """Send one claimed, written message and record its outcome: sent, failed, retry, hold or pause."""
    policy = batch.policy
    try:
        session.send(message, composer.unsubscribe_url(policy.base_url, message.customer), batch.studio.name, clock())
    except composer.HeaderProblem as problem:
        _finish(message, "failed", clock(), error=str(problem), cause="bad_header")
        return "failed"
    except DeliveryFailure as failure:
        verdict = _judge(failure)
        if verdict == "pause":
            session.pause(failure.diagnosis, clock())
        elif verdict == "retry":
            _retry_later(message, failure.diagnosis, clock(), policy)
        elif verdict == "failed":
            if failure.diagnosis.key == "sms_recipient_unsubscribed":  # they replied STOP
                suppression.suppress(message.studio_id, "sms", message.recipient, "stop", clock())
            _finish(message, "failed", clock(), error=failure.diagnosis.detail, cause=failure.diagnosis.key)
        return verdict
    except BaseTimeoutException:
        raise  # RQ's job timeout: stop now; the lease outlives the job, so nobody sends meanwhile
    except Exception as exc:  # a bug must not stop the batch, nor resend this message forever
        session.close()
        return _unexpected(message, exc, policy, clock())
    _finish(message, "sent", clock())
    return "sent"


def _unexpected(message: Message, exc: Exception, policy: Policy, now: datetime) -> str:
    """A bug met while handling one message: logged and retried; once it has happened again and
    the message has had ``max_unexpected_attempts``, it fails with the exception's own words
    (never left waiting without a reason). Returns "failed" or "retry"."""
    log.exception("Sending message %s failed unexpectedly", message.id, exc_info=exc)
    db.session.rollback()  # reloads the message: its cause is still the last attempt's
    diagnosis = diagnostics.Diagnosis(diagnostics.CAUSES["other"], f"{type(exc).__name__}: {exc}"[:500])
    if message.cause == diagnosis.key and message.attempts >= policy.max_unexpected_attempts:
        _finish(message, "failed", now, error=diagnosis.detail, cause=diagnosis.key)
        return "failed"
    _retry_later(message, diagnosis, now, policy)
    return "retry"


def _judge(failure: DeliveryFailure) -> str:
    """retry (temporary, or the server is unreachable), pause (the account: nothing fails for it),
    or failed (this recipient only)."""
    cause = failure.diagnosis.cause
    if cause.key == "quota_or_daily_limit":
        return "hold"
    if cause.retry or failure.phase == "lost" or failure.phase == "connect" and cause.key in (
            *_SERVER_GONE, "temporary_server_error", "other"):
        return "retry"
    if failure.phase in ("rcpt", "data", "send") and cause.key in ("other", "mailbox_unavailable"):
        return "failed"
    return "pause" if cause.concerns == "account" else "failed"


def _record(message: Message, expect: str = "sending", **values) -> None:
    """Commit one message's outcome, only while the row is still ``expect`` (erasure or a cancel
    may have moved it meanwhile). The worker does this once per message, so it goes straight to
    the DB-API cursor of the session's own connection: through SQLAlchemy's execute and commit it
    took 441 µs a message on SQLite, this way 261 µs (bench/delivery.py)."""
    db.session.flush()  # what else changed with this message (a suppression, an SMS id) commits with it
    connection = db.session.connection()
    sql, convert = _outcome_statement(connection.dialect, tuple(sorted(values)))
    raw = connection.connection
    cursor = raw.cursor()
    try:
        cursor.execute(sql, convert(values, message.id, expect))
    finally:
        cursor.close()
    raw.commit()  # the session's transaction goes on, with nothing pending (flushed above)
    for name, value in values.items():
        set_committed_value(message, name, value)


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


def _finish(message: Message, status: str, now: datetime, error: str = "", cause: str = "") -> None:
    _record(message, status=status, lease_until=None, last_error=error[:500], cause=cause,
            sent_at=now if status == "sent" else message.sent_at)


def _retry_later(message: Message, diagnosis: diagnostics.Diagnosis, now: datetime, policy: Policy) -> None:
    """Back off and try again. A temporary failure is retried until the grace period is over (a
    server down for hours is not the message's fault)."""
    if now - message.due_at > policy.grace:
        _finish(message, "failed", now, error=diagnosis.detail, cause=diagnosis.key)
        return
    wait = min(policy.first_retry * 2 ** (message.attempts - 1), policy.max_retry)
    _record(message, status="scheduled", lease_until=None, enqueued_at=None, next_attempt_at=now + wait,
            last_error=diagnosis.detail[:500], cause=diagnosis.key)


def _release(messages: list[Message], next_attempt_at: datetime | None = None) -> None:
    """Back to the queue without counting the attempt (a paused account is not the message's fault)."""
    for message in messages:
        message.status, message.lease_until, message.enqueued_at = "scheduled", None, None
        message.attempts = max(0, message.attempts - 1)
        message.next_attempt_at = next_attempt_at
    db.session.commit()


def _customer_removed() -> str:
    """Why a message is not sent to a customer removed while a pass made it (see Message)."""
    return _("The customer was removed from the job.")


class _Batch:
    """What a worker needs for one studio's messages, read once: the account, the suppression list,
    each job's placeholder values."""

    def __init__(self, studio: Studio, policy: Policy):
        self.studio, self.policy = studio, policy
        self.account = mailsettings.account_of(studio)
        self.suppressed = suppression.suppressed(studio.id)
        self._job_parts: dict[int, dict] = {}
        self._written: list[dict] = []  # plain values: a rollback meanwhile expires the objects
        self.buyers: set[int] = set()
        self.orders: dict[int, Order] = {}
        self.consents: set[tuple[int, str]] = set()

    def read_customers(self, messages: list[Message]) -> None:
        """The batch's customers' consents and orders, a query each: who agreed to which channel,
        who is a buyer now, and each order's state."""
        customer_ids = {m.customer_id for m in messages}
        self.consents = set(db.session.execute(
            sa.select(Consent.customer_id, Consent.channel)
            .where(Consent.customer_id.in_(customer_ids), Consent.withdrawn_at.is_(None))).tuples())
        for order in db.session.scalars(sa.select(Order).where(Order.customer_id.in_(customer_ids))):
            self.orders[order.id] = order
            if order.cancelled_at is None:
                self.buyers.add(order.customer_id)

    def why_not(self, message: Message) -> str:
        """Is a made message still wanted at send time? A customer who unsubscribed or was erased,
        a job whose profile changed or was archived: skipped with the reason, never sent."""
        customer = message.customer
        if customer is None:
            return _customer_removed()
        if customer.erased_at is not None:
            return _("The customer's data was erased.")
        if (message.channel, message.recipient) in self.suppressed:
            return _("The recipient unsubscribed (on the studio's suppression list).")
        if message.is_confirmation:  # asks for consent, so it needs none; pointless once confirmed
            return _("The sign-up was confirmed already.") if customer.confirmed_at else ""
        if (customer.id, message.channel) not in self.consents:
            return _("The customer withdrew consent to this channel.")
        notification: Notification | None = message.notification
        job: Job | None = message.job
        if notification is not None and job is not None:
            if job.status == "archived":
                return _("The job was archived.")
            if notification.retired_at is not None or job.profile_id != notification.profile_id:
                return _("The job's communication profile changed; this message is no longer part of it.")
            if not notification.enabled:
                return _("The notification was switched off.")
            return self._still_fits(message, notification)
        return ""

    def _still_fits(self, message: Message, notification: Notification) -> str:
        """The target group and the order as they are now (a message can wait, e.g. for approval)."""
        buyer = message.customer_id in self.buyers
        if (notification.audience == "buyers" and not buyer) or (notification.audience == "potential_buyers" and buyer):
            return _("The customer is no longer in the notification's target group.")
        kind, _sep, ident = _occurrence_of(message.key)
        order = self.orders.get(int(ident)) if kind == "order" else None
        if order is not None and order.cancelled_at is not None:
            return _("The order was cancelled.")
        if order is not None and notification.trigger == "days_after_order_unpaid" and order.paid_at is not None:
            return _("The order was paid.")
        return ""

    def write(self, message: Message) -> str:
        """Render a made message once (a retry sends the same text and Message-ID), kept on the
        object until ``store_written``. Returns why it cannot be written, or ""."""
        if message.body:
            return ""
        job, notification = message.job, message.notification
        if notification is None:  # a confirmation whose text failed when it was made
            return _("This message has no text and cannot be written again.")
        if job.id not in self._job_parts:
            self._job_parts[job.id] = composer.job_values(self.studio, job)
        kind, _sep, ident = _occurrence_of(message.key)
        order = db.session.get(Order, int(ident)) if kind == "order" else None
        voucher = db.session.get(Voucher, int(ident)) if kind == "voucher" else None
        try:
            rendered = templating.render(notification.subject, notification.body, notification.channel,
                                         composer.context_for(self.studio, job, message.customer, self.policy.base_url,
                                                              order, voucher, self._job_parts[job.id]))
        except templating.TemplateProblem as problem:
            return str(problem)[:500]
        # Kept on the object without marking it changed: store_written saves the batch's at once.
        set_committed_value(message, "subject", rendered.subject)
        set_committed_value(message, "body", rendered.text)
        set_committed_value(message, "message_id", composer.message_id_for(message.key, self.account.from_address))
        self._written.append({"_id": message.id, "_subject": message.subject, "_body": message.body,
                              "_message_id": message.message_id})
        return ""

    def store_written(self) -> None:
        """Save the texts written since the last call, in one commit (a commit per row would cost
        a send's worth each). Only into rows still unwritten: two scheduler passes at once may
        both write a message awaiting approval, and the first one's text is the one kept (a
        worker's rows are claimed, so nobody else writes them)."""
        if self._written:
            table = Message.__table__
            db.session.execute(
                table.update().where(table.c.id == sa.bindparam("_id"), table.c.body == "")
                .values(subject=sa.bindparam("_subject"), body=sa.bindparam("_body"),
                        message_id=sa.bindparam("_message_id")),
                self._written)
            self._written.clear()
        db.session.commit()


# ---- SMTP ---------------------------------------------------------------------------------------

class SmtpSession:
    """One connection to the studio's server for a whole batch, opened on the first message and
    opened again after a failure closed it. smtplib's debug output stays off (it logs AUTH)."""

    CONNECTION_PHASES = ("connect", "ehlo", "tls", "auth")

    def __init__(self, account: MailAccount, context: ssl.SSLContext, timeout: float = 30.0):
        self.account, self.context, self.timeout = account, context, timeout
        self.client: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpSession:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.client is not None:
            try:
                self.client.quit()
            except (OSError, smtplib.SMTPException):
                pass
            self.client = None

    @property
    def broken(self) -> bool:
        """The connection is gone (a failure closed it)."""
        return self.client is None

    def pause(self, diagnosis: diagnostics.Diagnosis, now: datetime) -> None:
        """The studio's sending stops until a test or a save of the settings succeeds."""
        mailsettings.record_failure(self.account, "smtp", diagnosis, now)
        db.session.commit()

    def _connect(self) -> smtplib.SMTP:
        return mailcheck.open_smtp(mailsettings.smtp_settings(self.account), self.timeout, self.context,
                                   allow_private=mailsettings.private_hosts_allowed())

    def send(self, message: Message, unsubscribe: str, studio_name: str, now: datetime) -> None:
        if self.client is None:
            self.client = self._connect()
        if not message.recipient.isascii():  # (SMTPUTF8 is not supported yet)
            raise DeliveryFailure(diagnostics.Diagnosis(diagnostics.CAUSES["mailbox_unavailable"],
                                                    "Addresses with non-ASCII characters cannot be sent to yet."),
                              "rcpt")
        mime = composer.build_email(message, self.account, unsubscribe, studio_name, now,
                                    eight_bit=self.client.has_extn("8bitmime"),
                                    untrusted=composer.typed_by_customer(message.customer))
        options = ["BODY=8BITMIME"] if composer.needs_eight_bit(mime) else []
        try:
            self.client.sendmail(self.account.from_address, [message.recipient], composer.wire_bytes(mime), options)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            self._fail(diagnostics.classify("smtp", "rcpt", f"{code} {text.decode('utf-8', 'replace')}", code), "rcpt")
        except smtplib.SMTPSenderRefused as exc:
            self._fail(diagnostics.classify_exception(exc, "smtp", "mail_from", self.account.smtp_host), "mail_from")
        except smtplib.SMTPDataError as exc:
            self._fail(diagnostics.classify_exception(exc, "smtp", "data", self.account.smtp_host), "data")
        except (OSError, smtplib.SMTPException) as exc:
            # The connection broke after it worked (the server closed it, a network blip): a
            # temporary failure, whatever the words; the next message reconnects.
            self.client = None
            raise DeliveryFailure(diagnostics.Diagnosis(diagnostics.CAUSES["temporary_server_error"],
                                                    f"{type(exc).__name__}: {exc}"[:500]), "lost") from None

    def _fail(self, diagnosis: diagnostics.Diagnosis, phase: str) -> None:
        try:
            self.client.rset()  # the connection stays usable for the next recipient
        except (OSError, smtplib.SMTPException):
            self.close()
        raise DeliveryFailure(diagnosis, phase)
