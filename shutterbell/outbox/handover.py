"""Handing ready messages to workers: the sweeper gives back what a dead worker held, the
dispatcher hands out batches studio by studio, within each studio's sending limits."""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from redis.exceptions import RedisError

from .. import channels, queue, settings
from ..extensions import db
from ..i18n import speaking
from ..models import Message, Studio, utcnow
from ..settings import Policy
from .making import schedule

log = logging.getLogger(__name__)


def run_pass(now: datetime, policy: Policy, jobs: queue.JobQueue) -> dict[str, int]:
    """The cron's minute: make what fell due, put back what a dead worker held, hand out batches."""
    made = schedule(now, policy)
    swept = sweep(now, policy)
    handed = dispatch(now, policy, lambda ids, at_front: jobs.send_messages(ids, at_front=at_front))
    return {"made": made, "swept": swept, "dispatched": handed}


def sweep(now: datetime, policy: Policy) -> int:
    """Messages whose worker died mid-send (lease expired) go back to the queue. They are sent
    again with the same Message-ID: at most one duplicate per crash, and ``attempts`` shows it.
    One that has killed its worker ``max_attempts`` times fails instead of killing the next."""
    expired = sa.and_(Message.status == "sending", Message.lease_until < now)
    exhausted = sa.and_(expired, Message.attempts >= policy.max_attempts)
    for studio in db.session.scalars(sa.select(Studio).where(Studio.id.in_(
            sa.select(Message.studio_id).where(exhausted)))).all():
        with speaking(studio):
            db.session.execute(sa.update(Message).where(exhausted, Message.studio_id == studio.id).values(
                status="failed", lease_until=None, cause="", named_cause="",  # no server's: its words say it
                last_error=_("The worker stopped while sending this message, every time it tried.")))
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
    channel_ready = sa.or_(*(sa.and_(Message.channel == channel.key, Message.studio_id.in_(channel.studios_ready(now)))
                             for channel in channels.every()))
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


def pass_soon() -> None:
    """Make what an event just started (a confirmed sign-up's welcome) in a moment, in the
    worker, not at the next minute's pass; if Redis is down, that pass does it."""
    try:
        queue.current().pass_soon()
    except (RedisError, OSError):
        log.warning("Could not ask for a pass now; the next minute's pass will make the messages", exc_info=True)


def _studios_on_their_way(now: datetime, policy: Policy) -> set[int]:
    """Studios with messages handed to workers and not yet finished (a long-lost hand-over aside)."""
    return set(db.session.scalars(sa.select(Message.studio_id).where(sa.or_(
        Message.status == "sending",
        sa.and_(Message.status == "queued", Message.enqueued_at >= now - policy.reenqueue_after))).distinct()))


def _within_limits(ready: list, now: datetime, policy: Policy) -> list:
    """Keep each studio under its account's limits per minute and per rolling 24 hours, channel by
    channel: what was sent, is being sent, or was just handed over counts; the rest waits for a
    later pass (waiting on a limit never makes a message late)."""
    allowance = {}
    for channel in channels.every():
        limits = channel.limits({row.studio_id for row in ready if row.channel == channel.key})
        for studio_id, (per_minute, per_day) in limits.items():
            allowance[channel.key, studio_id] = min(
                _room(channel.key, studio_id, per_minute, timedelta(minutes=1), now, policy),
                _room(channel.key, studio_id, per_day, timedelta(days=1), now, policy))
    kept = []
    for row in ready:
        key = (row.channel, row.studio_id)
        if key in allowance:
            if allowance[key] <= 0:
                continue
            allowance[key] -= 1
        kept.append(row)
    return kept


def _room(channel: str, studio_id: int, limit: int | None, window: timedelta, now: datetime, policy: Policy) -> float:
    if limit is None:
        return float("inf")
    # A count per status, so each reads its own stretch of the status index, not the studio's history.
    mine = sa.and_(Message.studio_id == studio_id, Message.channel == channel)
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
