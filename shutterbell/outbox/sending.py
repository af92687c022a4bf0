"""The worker's side: claim a batch, then check, write and send each message over its channel's
session, committing each outcome on its own, and judge what each failure means."""
from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from rq.timeouts import BaseTimeoutException
from sqlalchemy.orm.attributes import set_committed_value

from .. import channels, composer, diagnostics, mailsettings
from ..diagnostics import DeliveryFailure
from ..extensions import db
from ..models import Contact, Customer, Job, Message, Notification, Studio, utcnow
from ..settings import Policy
from .outcomes import alert_failure, finish, give_back_failed, give_back_unsent, release, retry_later
from .studio_batch import StudioBatch

log = logging.getLogger(__name__)


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


_stopping = threading.Event()


def stop_after_this_message(*_signal) -> None:
    """A SIGTERM handler for the process sending (a restart: systemd sends SIGTERM to every
    process of the worker's unit, the one forked for the job too): the message in hand is
    finished, the rest of the batch go back to the outbox at once, for the next pass. Without it
    they waited for their lease (ten minutes)."""
    _stopping.set()


def send_batch(ids: list[int], policy: Policy, clock: Callable[[], datetime] = utcnow) -> dict[str, int]:
    """Claim, then send each claimed message over one session per studio and channel (one SMTP
    connection for its emails), committing each message's outcome on its own. Returns counts
    per outcome."""
    outcome: Counter[str] = Counter()
    _stopping.clear()
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
            if _stopping.is_set():
                break
            studio_batch = StudioBatch(db.session.get(Studio, studio_id), policy)
            studio_batch.read_customers(batch)
            _send_studio_batch(studio_batch, batch, clock, outcome)
        if _stopping.is_set():
            outcome["given back"] += give_back_unsent(claimed)
    finally:
        session.expire_on_commit = expire_on_commit
    return dict(+outcome)  # (none of zero: a failure given back counts as paused instead)


def _load_with_parents(ids: list[int]) -> list[Message]:
    """The messages, each with its customer (or contact), job and notification: a query per kind
    (none for a kind no message has), joined up here. ``selectinload`` did the same queries but cost 20 µs more per message (bench/delivery.py)."""
    messages = db.session.scalars(sa.select(Message).where(Message.id.in_(ids))
                                  .order_by(Message.studio_id, Message.id)).all()
    for name, model in (("customer", Customer), ("contact", Contact), ("job", Job), ("notification", Notification)):
        column = f"{name}_id"
        wanted = {getattr(m, column) for m in messages} - {None}
        rows = db.session.scalars(sa.select(model).where(model.id.in_(wanted))) if wanted else []
        found = {row.id: row for row in rows}
        for message in messages:
            set_committed_value(message, name, found.get(getattr(message, column)))
    return messages


def _send_studio_batch(studio_batch: StudioBatch, messages: list[Message], clock, outcome) -> None:
    """The studio's messages, channel by channel, each channel's over one session."""
    ready = _prepare(studio_batch, messages, clock, outcome)
    for channel in channels.every():
        mine = [m for m in ready if m.channel == channel.key]
        if not mine:
            continue
        session = channel.open_session(studio_batch.studio, clock())
        if session is None:  # e.g. quiet hours began, or the account paused, since the hand-over
            release(mine)
            outcome["held"] += len(mine)
            continue
        with session:
            _send_each(session, studio_batch, mine, clock, outcome)


def _send_each(session: channels.Session, studio_batch: StudioBatch, batch: list[Message], clock,
               outcome: Counter[str]) -> None:
    in_a_row = RefusedInARow()
    try:
        _send_in_turn(session, studio_batch, batch, clock, outcome, in_a_row)
    finally:
        _settle_quietly(in_a_row)
    outcome.subtract(failed=in_a_row.given_back)
    outcome.update(paused=in_a_row.given_back)


def _settle_quietly(in_a_row: RefusedInARow) -> None:
    """Tell a held failure at the batch's end, without hiding what ended it (a job timeout, a bug)."""
    try:
        in_a_row.settle()
    except Exception:
        db.session.rollback()
        log.exception("Could not tell the owner of a failed message")


def _send_in_turn(session: channels.Session, studio_batch: StudioBatch, batch: list[Message], clock,
                  outcome: Counter[str], in_a_row: RefusedInARow) -> None:
    for position, message in enumerate(batch):
        if _stopping.is_set():  # (what is left is given back by send_batch)
            return
        result = _attempt(session, message, studio_batch, clock, in_a_row)
        if result == "hold":  # the provider's quota for today: everything waits an hour, uncounted
            release(batch[position:], next_attempt_at=clock() + HOLD)
            outcome["held"] += len(batch) - position
            return
        if result == "pause":
            release(batch[position:])
            outcome["paused"] += len(batch) - position
            return
        outcome[result] += 1
        if result == "retry" and session.broken and message.cause in _SERVER_GONE:
            # The server is gone: the rest go again at the next pass, each on its own backoff. Not
            # on this message's (its fifth attempt's half hour held 200 first attempts back).
            release(batch[position + 1:])
            return


_SERVER_GONE = ("connection_refused", "timeout", "host_not_found", "sms_host_not_found")
HOLD = timedelta(hours=1)


def _prepare(batch: StudioBatch, messages: list[Message], clock, outcome: Counter[str]) -> list[Message]:
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
            finish(message, "skipped", clock(), error=reason)
            outcome["skipped"] += 1
        elif problem:
            finish(message, "failed", clock(), error=problem, cause="render_error")
            outcome["failed"] += 1
        else:
            ready.append(message)
    batch.store_written()
    return ready


def _attempt(session: channels.Session, message: Message, batch: StudioBatch, clock, in_a_row: RefusedInARow) -> str:
    """Send one claimed, written message and record its outcome: sent, failed, retry, hold or pause."""
    policy = batch.policy
    try:
        session.send(message, composer.unsubscribe_for(policy.base_url, message), batch.studio.name, clock())
    except composer.HeaderProblem as problem:
        in_a_row.settle()
        finish(message, "failed", clock(), error=str(problem), cause="bad_header")
        return "failed"
    except DeliveryFailure as failure:
        return _judged(session, message, failure, policy, clock(), in_a_row)
    except BaseTimeoutException:
        raise  # RQ's job timeout: stop now; the lease outlives the job, so nobody sends meanwhile
    except Exception as exc:  # a bug must not stop the batch, nor resend this message forever
        session.close()
        verdict = _unexpected(message, exc, policy, clock())  # (rolls back first)
        in_a_row.settle()
        return verdict
    in_a_row.settle()
    finish(message, "sent", clock())
    return "sent"


def _judged(session: channels.Session, message: Message, failure: DeliveryFailure, policy: Policy, now: datetime,
            in_a_row: RefusedInARow) -> str:
    """Act on a failed send as ``judge`` says, or pause for a refusal met twice in a row; returns
    the verdict."""
    verdict = judge(failure)
    earlier = in_a_row.alike(message, failure.diagnosis, now) if verdict == "failed" else None
    if verdict != "failed":
        in_a_row.settle()
    if earlier is not None:  # given back first: should the worker die before the pause, it is just refused again
        in_a_row.give_back(earlier)
        session.pause(diagnostics.Diagnosis(diagnostics.CAUSES["refused_in_a_row"], failure.diagnosis.detail,
                                            "smtp"), now)
        return "pause"
    if verdict == "pause":
        session.pause(failure.diagnosis, now)
    elif verdict == "retry":
        retry_later(message, failure.diagnosis, now, policy)
    elif verdict == "failed":
        holding = in_a_row.unread(message, failure.diagnosis)
        if finish(message, "failed", now, error=failure.diagnosis.detail, cause=failure.diagnosis.key,
                  alert=not holding) and holding:
            in_a_row.hold(message, failure.diagnosis, now)
    return verdict


def _unexpected(message: Message, exc: Exception, policy: Policy, now: datetime) -> str:
    """A bug met while handling one message: logged and retried; once it has happened again and
    the message has had ``max_unexpected_attempts``, it fails with the exception's own words
    (never left waiting without a reason). Returns "failed" or "retry"."""
    log.exception("Sending message %s failed unexpectedly", message.id, exc_info=exc)
    db.session.rollback()  # reloads the message: its cause is still the last attempt's
    diagnosis = diagnostics.Diagnosis(diagnostics.CAUSES["other"], f"{type(exc).__name__}: {exc}"[:500])
    if message.cause == diagnosis.key and message.attempts >= policy.max_unexpected_attempts:
        finish(message, "failed", now, error=diagnosis.detail, cause=diagnosis.key)
        return "failed"
    retry_later(message, diagnosis, now, policy)
    return "retry"


class RefusedInARow:
    """An email refused at RCPT or DATA in words we cannot read fails alone (``judge``): they may
    be about its customer. The same words for the next customer too are about the account (its
    domain's SPF or DMARC, a block, worded as we have not met it): sending pauses, and the message
    failed just before goes back to the outbox, so nothing is lost; its failure is told to the
    owner only once the next outcome shows it was one. Once per wording: after the owner resumed,
    the same words fail one message at a time (they were about the customers or the message)."""

    def __init__(self) -> None:
        self.held: tuple[Message, str, datetime] | None = None  # failed so just now: (message, gist, when)
        self.given_back = 0

    @staticmethod
    def unread(message: Message, diagnosis: diagnostics.Diagnosis) -> bool:
        return message.channel == "email" and diagnostics.unread(diagnosis)

    def hold(self, message: Message, diagnosis: diagnostics.Diagnosis, now: datetime) -> None:
        """Keep this failure's alert until the next outcome (the one before is settled: ``alike``)."""
        self.held = message, diagnostics.gist(diagnosis.detail), now

    def alike(self, message: Message, diagnosis: diagnostics.Diagnosis, now: datetime) -> Message | None:
        """The message failed just before in the same unread words, to another customer, unless
        sending paused for these words before; else that failure stands (and is told)."""
        if self.held and self.unread(message, diagnosis):
            earlier, gist, _ = self.held
            if earlier.recipient != message.recipient and gist == diagnostics.gist(diagnosis.detail) and \
                    not mailsettings.paused_before_for(message.studio_id, "refused_in_a_row", diagnosis.detail, now):
                return earlier  # (still held: should the give-back not happen, its failure is told)
        self.settle()
        return None

    def give_back(self, earlier: Message) -> None:
        if give_back_failed(earlier):
            self.given_back += 1
        self.held = None

    def settle(self) -> None:
        """The held failure stands: the owner hears of it, if it is still one (a retry by hand or an
        erasure may have moved or renamed it meanwhile)."""
        if self.held:
            message, _, now = self.held
            self.held = None
            still = db.session.execute(sa.select(Message.status, Message.recipient)
                                       .where(Message.id == message.id)).first()
            if still is not None and tuple(still) == ("failed", message.recipient):
                alert_failure(message, now)


def judge(failure: DeliveryFailure) -> str:
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
