"""What staff do with the outbox: find messages, retry a failed one, cancel or approve waiting
ones, and the counts the dashboard shows. Sending itself lives in ``outbox``."""
from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from . import paging
from .extensions import db
from .models import Job, Message, Notification, Order, Profile, Studio
from .validation import Invalid

PAGE_SIZE = 50
COUNTED_UP_TO = 10_000  # the outbox says "more than 10,000 messages" past this
CANCELLABLE = ("scheduled", "queued", "awaiting_approval")
RETRYABLE = ("failed", "bounced")
# Each status as staff read it: the outbox's badges and its status filter, in this order.
STATUS_LABELS = {"scheduled": _l("Scheduled"), "awaiting_approval": _l("Awaiting approval"), "queued": _l("Queued"),
                 "sending": _l("Sending"), "sent": _l("Sent"), "failed": _l("Failed"), "bounced": _l("Bounced"),
                 "skipped": _l("Skipped"), "cancelled": _l("Cancelled")}


@dataclass
class MessagePage(paging.Page):
    in_flight: bool = False  # the page polls while anything is on its way


# What the outbox's rows show (the body for a text's first words), with their job's name: read as
# rows, not as 50 Message objects and one more query for their jobs (0.46 ms of the page's 6.2 on
# SQLite, bench/pages.py's seed). Each of the other columns (key, ids, headers, leases) costs time.
_LISTED = (Message.id, Message.channel, Message.recipient, Message.subject, Message.body, Message.due_at,
           Message.sent_at, Message.status, Message.attempts, Message.next_attempt_at, Message.last_error,
           Message.cause, Message.named_cause, Job.name.label("job_name"))


def find(studio: Studio, status: str = "", job_id: int | None = None, page: int = 1) -> MessagePage:
    """The studio's messages, newest moment first, filtered by status and job."""
    where = [Message.studio_id == studio.id]
    listed = where  # what the list and its count read by
    if job_id:
        # By the job's own index, once the job is the studio's: beside the studio's, SQLite (no
        # statistics) read all of the studio's messages for one job's (300,000: 140 ms a count).
        owned = db.session.scalar(sa.select(Job.id).where(Job.id == job_id, Job.studio_id == studio.id))
        where = [*where, Message.job_id == job_id]
        listed = [Message.job_id == owned] if owned else [sa.false()]
    if status in Message.STATUSES:
        where, listed = [*where, Message.status == status], [*listed, Message.status == status]
    found = paging.fetch_capped(
        sa.select(Message.id).where(*listed),
        sa.select(*_LISTED).outerjoin(Job, Job.id == Message.job_id).where(*listed)
        .order_by(Message.due_at.desc(), Message.id.desc()), page, PAGE_SIZE, COUNTED_UP_TO)
    # Texts may wait all night (quiet hours) or for an SMS account: only moving ones keep the page polling.
    # One EXISTS per status, each read from the (studio, status) index: one with an OR read all
    # 300,000 rows on SQLite, and one with an IN a job's 3,000 (6 ms).
    moving = [Message.status == "queued", Message.status == "sending",
              sa.and_(Message.status == "scheduled", Message.channel == "email")]
    in_flight = db.session.scalar(sa.select(sa.or_(*(sa.exists().where(*where, state) for state in moving))))
    return MessagePage(**vars(found), in_flight=bool(in_flight))


def get(studio: Studio, message_id: int) -> Message | None:
    return db.session.scalar(sa.select(Message).where(Message.id == message_id, Message.studio_id == studio.id))


def retry(message: Message) -> bool:
    """A failed message goes back to the outbox with the same text and Message-ID."""
    moved = db.session.execute(sa.update(Message).where(Message.id == message.id, Message.status.in_(RETRYABLE))
                               .values(status="scheduled", attempts=0, next_attempt_at=None, enqueued_at=None,
                                       last_error="", cause="", named_cause="")).rowcount
    db.session.commit()
    return bool(moved)


def cancel(messages: list[Message]) -> int:
    return _move(messages, CANCELLABLE, "cancelled")


def approve(messages: list[Message]) -> int:
    return _move(messages, ("awaiting_approval",), "scheduled")


def _move(messages: list[Message], from_statuses: tuple[str, ...], to: str) -> int:
    """A compare-and-set per message: a worker may be claiming it at this moment."""
    moved = 0
    for message in messages:
        result = db.session.execute(sa.update(Message).where(Message.id == message.id,
                                                            Message.status.in_(from_statuses)).values(status=to))
        moved += result.rowcount
    db.session.commit()
    return moved


def awaiting_approval(studio: Studio, job_id: int) -> list[Message]:
    return db.session.scalars(sa.select(Message).where(*_awaiting(studio, job_id))).all()


def count_awaiting_approval(studio: Studio, job_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Message).where(*_awaiting(studio, job_id)))


def _awaiting(studio: Studio, job_id: int) -> tuple:
    return Message.studio_id == studio.id, Message.job_id == job_id, Message.status == "awaiting_approval"


def approvals_by_job(studio: Studio) -> list[tuple[Job, int]]:
    """The jobs with messages awaiting approval, and how many each, most waiting first."""
    count = sa.func.count(Message.id)
    rows = db.session.execute(sa.select(Job, count).join(Message, Message.job_id == Job.id)
                              .where(Job.studio_id == studio.id, Message.studio_id == studio.id,
                                     Message.status == "awaiting_approval")
                              .group_by(Job.id).order_by(count.desc(), Job.name)).all()
    return [(job, waiting) for job, waiting in rows]


def jobs_with_messages(studio: Studio) -> list[sa.Row]:
    """The outbox's job filter: (id, name) rows. One index probe per job (ix_message_job_due_at):
    the distinct job ids of every message took 1.9 s of the page's 2.2 s at 300,000 messages on
    PostgreSQL; whole Job objects for a hundred jobs were a tenth of the page."""
    return db.session.execute(sa.select(Job.id, Job.name).where(Job.studio_id == studio.id, sa.exists().where(
        Message.job_id == Job.id)).order_by(Job.name)).all()


@dataclass
class Day:
    day: date
    sent: int
    failed: int
    skipped: int


def daily_counts(studio: Studio, now: datetime, days: int = 30) -> list[Day]:
    """Sent, failed and skipped per local day for the last ``days`` days (today last)."""
    zone = ZoneInfo(studio.time_zone)
    first = now.astimezone(zone).date() - timedelta(days=days - 1)
    dates = [first + timedelta(days=i) for i in range(days + 1)]
    midnights = [datetime.combine(day, datetime.min.time(), tzinfo=zone) for day in dates]  # DST-aware
    counts = [{"sent": 0, "failed": 0, "skipped": 0} for _ in range(days)]
    for status, day, count in [*_sent_per_day(studio, midnights, now), *_others_per_day(studio, midnights)]:
        counts[day][status] += count
    return [Day(dates[i], **c) for i, c in enumerate(counts)]


# Sent counts of what is past, kept a while in this process: counting a busy month again on each
# visit (300,000 messages) took 50 ms of the dashboard on PostgreSQL, and a busy today (a message a
# second since midnight in bench/pages.py, some 50,000) 5 ms. A finished day, and today until a
# minute before it was counted, change only when one of their messages bounces, and the chart may
# lag that by this long; what is sent from then on counts at once (its sent_at is later).
FINISHED_DAY_KEPT = timedelta(minutes=10)
FINISHED_DAYS = "shutterbell.finished_days"  # app.extensions: {studio id: _KeptDays}
SETTLED = timedelta(minutes=1)  # a sent message is committed well within this of its sent_at


@dataclass(frozen=True)
class _KeptDays:
    """One studio's, replaced whole (never changed in place: gunicorn's threads read it meanwhile)."""
    until: datetime
    counts: dict[tuple[datetime, datetime], int]  # sent in [start, end): each finished day, and today's start


def _sent_per_day(studio: Studio, midnights: list[datetime], now: datetime) -> list:
    """("sent", day number, count): one range count each, read from the (status, studio, sent_at)
    index alone (fetching the messages took seconds), what is past from the store above."""
    kept_by_studio = current_app.extensions.setdefault(FINISHED_DAYS, {})
    kept = kept_by_studio.get(studio.id)
    if kept is None or kept.until <= now:
        kept = _KeptDays(now + FINISHED_DAY_KEPT, {})
    today = len(midnights) - 2
    past = next((r for r in kept.counts if r[0] == midnights[today]),
                (midnights[today], max(midnights[today], now - SETTLED)))  # today's, up to a minute ago
    ranges = [*((midnights[day], midnights[day + 1]) for day in range(today)), past, (past[1], midnights[today + 1])]
    counts = {r: kept.counts[r] for r in ranges if r in kept.counts}
    wanted = [r for r in ranges if r not in counts]  # always the last: from a minute ago on
    counts.update((wanted[n], count) for n, count in db.session.execute(sa.union_all(*(
        sa.select(sa.literal(n), sa.func.count()).where(
            Message.status == "sent", Message.studio_id == studio.id, Message.sent_at >= start, Message.sent_at < end)
        for n, (start, end) in enumerate(wanted)))).all())
    now_on = ranges.pop()  # counted on each visit; the rest is kept (the month's days only: it never grows)
    kept_by_studio[studio.id] = _KeptDays(kept.until, {r: counts[r] for r in ranges})
    return [*(("sent", day, counts[r]) for day, r in enumerate(ranges)), ("sent", today, counts[now_on])]


def _others_per_day(studio: Studio, midnights: list[datetime]) -> list:
    """Failed and skipped (few; a skipped message has no sent_at: its due time counts)."""
    return db.session.execute(_others_statement(len(midnights) - 1), {
        "studio_id": studio.id, **{f"midnight_{i}": midnight for i, midnight in enumerate(midnights)}}).all()


@functools.cache
def _others_statement(days: int) -> sa.Select:
    """Built once: its CASE of a branch a day was a fifth of the dashboard, made anew per visit."""
    moment = sa.func.coalesce(Message.sent_at, Message.due_at)
    midnight = [sa.bindparam(f"midnight_{i}", type_=Message.due_at.type) for i in range(days + 1)]
    day_of = sa.case(*((moment >= midnight[i], i) for i in reversed(range(days))), else_=-1)
    return (sa.select(Message.status, day_of, sa.func.count())
            .where(Message.studio_id == sa.bindparam("studio_id"), Message.status.in_(("failed", "skipped")),
                   moment >= midnight[0], moment < midnight[-1])
            .group_by(Message.status, day_of))


ATTRIBUTION = timedelta(days=7)


@dataclass
class NotificationResult:
    notification: Notification
    delivered: int  # accepted by the recipient's server, and no bounce came back
    bounced: int
    failed: int
    skipped: int
    orders: int  # placed by a recipient within ATTRIBUTION after the message was delivered
    revenue_cents: int

    @property
    def sent(self) -> int:
        return self.delivered + self.bounced

    @property
    def buy_rate(self) -> float | None:
        """Orders per recipient the message reached; None before it reached anyone."""
        return self.orders / self.delivered if self.delivered else None


def results(profile: Profile) -> list[NotificationResult]:
    """Per notification of the profile (retired ones too, they have history), on every job
    that uses it: what was delivered, bounced, failed and skipped, and the orders its recipients
    placed within a week after it."""
    notifications = db.session.scalars(sa.select(Notification).where(Notification.profile_id == profile.id)
                                       .order_by(Notification.retired_at.is_not(None), Notification.position)).all()
    scope = Message.notification_id.in_([n.id for n in notifications])
    orders = db.session.scalars(sa.select(Order).where(Order.customer_id.in_(
        sa.select(Message.customer_id).where(scope, Message.status == "sent")))).all()
    return _results(notifications, scope, _counts(scope), orders)


def job_results(job: Job, orders: list[Order] | None = None) -> list[NotificationResult]:
    """The same for one job: each notification that sent it anything, its profile's first (a job
    can change profiles; what the earlier one sent stays part of its history). The counts name
    them: one read of the job's messages, not a second for their distinct notifications.
    ``orders``: the job's, where the caller read them already (its customers' are the job's)."""
    scope = Message.job_id == job.id
    counts = _counts(sa.and_(scope, Message.notification_id.is_not(None)))
    notifications = db.session.scalars(sa.select(Notification).where(Notification.id.in_({n for n, _ in counts}))
                                       .order_by(Notification.profile_id != job.profile_id, Notification.profile_id,
                                                 Notification.retired_at.is_not(None), Notification.position)).all()
    if orders is None:
        orders = db.session.scalars(sa.select(Order).where(Order.job_id == job.id)).all()
    return _results(notifications, scope, counts, orders)


def _counts(scope: sa.ColumnElement[bool]) -> dict[tuple[int, str], int]:
    """(notification id, status) -> how many of the messages in ``scope``."""
    return {(nid, status): count for nid, status, count in db.session.execute(
        sa.select(Message.notification_id, Message.status, sa.func.count()).where(scope)
        .group_by(Message.notification_id, Message.status))}


def _results(notifications: list[Notification], scope: sa.ColumnElement[bool],
             counts: dict[tuple[int, str], int], orders: list[Order]) -> list[NotificationResult]:
    """``orders``: at least those of the customers the messages in ``scope`` reached. Only what
    reached a buyer can have sold: a job's 3,000 delivered messages were read (and their times
    converted) to find the few before an order, 15 ms a job page."""
    if not notifications:
        return []
    ids = [n.id for n in notifications]
    orders_of: dict[int, list[Order]] = {}
    for order in orders:
        if order.cancelled_at is None:
            orders_of.setdefault(order.customer_id, []).append(order)
    delivered = db.session.execute(sa.select(Message.notification_id, Message.customer_id, Message.sent_at).where(
        scope, Message.notification_id.in_(ids), Message.status == "sent",
        Message.customer_id.in_(orders_of))).all() if orders_of else []
    attributed: dict[int, set[int]] = {nid: set() for nid in ids}
    for row in delivered:
        for order in orders_of.get(row.customer_id, []):
            if row.sent_at <= order.placed_at <= row.sent_at + ATTRIBUTION:
                attributed[row.notification_id].add(order.id)
    totals = {order.id: order.total_cents for orders in orders_of.values() for order in orders}
    return [NotificationResult(n, *(counts.get((n.id, status), 0) for status in ("sent", "bounced", "failed", "skipped")),
                               len(attributed[n.id]), sum(totals[o] for o in attributed[n.id])) for n in notifications]


@dataclass
class OneOffInput:
    audience: str
    subject: str
    body: str
    send_at: datetime | None  # None: now
    category: str = ""  # service or marketing: staff must say which


def send_one_off(job: Job, data: OneOffInput, now: datetime) -> int:
    """A message to a target group of the job's customers, now or at a chosen time, through the
    outbox like every other (GotPhoto's "one-time messages"). Written at once: staff see exactly
    what goes out. Returns how many customers it reaches."""
    from . import composer, mailsettings, message_keys, scheduling, settings, templating

    problems = {}
    for name, source, limit in (("subject", data.subject, templating.MAX_SUBJECT), ("body", data.body, 5000)):
        try:
            if not source.strip():
                raise templating.TemplateProblem(_l("This field is required."))
            templating.check(source, None, limit)
        except templating.TemplateProblem as problem:
            problems[name] = str(problem)
    if data.category not in ("service", "marketing"):
        problems["category"] = str(_l("Say whether this is service or marketing: an offer goes only to the customers "
                                      "who agreed to offers."))
    if data.send_at is not None and data.send_at < now - timedelta(minutes=1):
        problems["send_at"] = str(_l("Choose a time from now on."))
    if problems:
        raise Invalid(problems)
    studio = db.session.get(Studio, job.studio_id)
    account = mailsettings.account_of(studio)
    job_part = composer.job_values(studio, job)
    base_url = settings.current().base_url
    batch = secrets.token_hex(6)
    rows = []
    for customer in scheduling.reached(job, "email", data.audience, data.category):
        rendered = templating.render(data.subject, data.body, "email", composer.context_for(
            studio, job, customer, base_url, job_part=job_part, category=data.category))
        key = message_keys.one_off(batch, customer.id)
        rows.append(Message(studio_id=studio.id, job_id=job.id, customer_id=customer.id, key=key, channel="email",
                            recipient=customer.email, subject=rendered.subject, body=rendered.text,
                            message_id=composer.message_id_for(key, account.from_address),
                            due_at=data.send_at or now, status="scheduled", created_at=now, category=data.category))
    db.session.add_all(rows)
    db.session.commit()
    return len(rows)


def waiting(studio: Studio) -> dict[str, int]:
    """Messages not done yet, by status (scheduled, queued, sending, awaiting approval)."""
    rows = db.session.execute(sa.select(Message.status, sa.func.count()).where(
        Message.studio_id == studio.id, Message.status.in_(Message.NOT_DONE))
        .group_by(Message.status)).all()
    return {status: count for status, count in rows}


def _aware(moment: datetime) -> datetime:
    """SQLite hands back coalesce() results naive (they are UTC)."""
    from datetime import timezone

    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
