"""When each notification of a job falls due, and for whom.

The job page's timeline and the dry run of a profile change ask this module; the scheduler
pass (``materialise``) applies the same rules in SQL, and a test holds the two in agreement, so
what the page shows is what will be sent. Functions take ``now``; nothing here reads the clock.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Protocol
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from . import channels, customers as job_customers, invoices, message_keys, orders as job_orders, pacing, replies, suppression, team, triggers
from .extensions import db
from .models import Customer, Invoice, Job, Message, Notification, Order, Profile, Studio
from .message_keys import MessageKey, date_subject, occurrence
from .triggers import Audience, Occurrence


@dataclass(frozen=True)
class Moment:
    """One message-to-be: a notification for a customer at a time, for one occurrence."""

    notification: Notification
    customer: Customer
    occurrence: str  # with notification, customer and job: the scheduler's idempotency key
    due_at: datetime  # UTC


class Timed(Protocol):
    """A notification, saved or still in the editor."""
    send_time: str  # "default", "morning", "evening" or "at"
    send_at: time | None


def send_time(notification: Timed, studio: Studio) -> time:
    return {"morning": studio.morning_time, "evening": studio.evening_time,
            "at": notification.send_at}.get(notification.send_time) or studio.default_send_time


def at_local_time(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """``day`` at ``clock`` in the studio's zone, as UTC. A time the clocks skip (02:30 on the
    spring change) comes out an hour later; a time that happens twice, the first time."""
    return datetime.combine(day, clock, tzinfo=zone).astimezone(timezone.utc)


class _Context:
    """The job's rows the rules need, loaded once (no query per customer or notification)."""

    def __init__(self, job: Job, customers: list[Customer] | None = None):
        """Every customer of the job, or these of the job's (one customer's coming messages)."""
        self.job = job
        self.studio = db.session.get(Studio, job.studio_id)
        self.zone = ZoneInfo(self.studio.time_zone)
        some = [Order.customer_id.in_([c.id for c in customers])] if customers is not None else []
        self.orders = db.session.scalars(sa.select(Order).where(Order.job_id == job.id, *some)).all()
        self.vouchers = job.vouchers  # the job page shows them too: read once
        self.buyers = job_orders.buyers_among(self.orders)
        self.suppressed = suppression.by_category(job.studio_id, among={  # these customers' entries only
            channel.key: sa.select(channel.address_column()).where(Customer.job_id == job.id) if customers is None
            else {address for customer in customers if (address := channel.address(customer))}
            for channel in channels.every()})
        self.orders_of: dict[int, list[Order]] = defaultdict(list)
        for order in self.orders:
            self.orders_of[order.customer_id].append(order)
        if customers is None:
            self.customers = db.session.scalars(sa.select(Customer).where(Customer.job_id == job.id)).all()
            ids = sa.select(Customer.id).where(Customer.job_id == job.id)
        else:
            self.customers, ids = customers, [c.id for c in customers]
        self.consents = job_customers.agreements(ids)  # (channel, purpose) each agreed to and has not withdrawn
        self._groups: dict[tuple[str, str, str], list[Customer]] = {}

    def reached(self, channel: str, audience: str, category: str) -> list[Customer]:
        """The customers a message of this kind reaches (a profile's notifications share a few kinds)."""
        kind = (channel, audience, category)
        if kind not in self._groups:
            self._groups[kind] = [c for c in self.customers if _in_group(channel, audience, category, c, self)]
        return self._groups[kind]

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()


def moments(job: Job, profile: Profile | None, since: datetime, customers: list[Customer] | None = None) -> list[Moment]:
    """Every message the profile sends this job's customers (these only, if given) that falls
    due at or after ``since``, soonest first. The page asks from now on; the scheduler asks from
    its last pass, so a message whose event just happened (a registration, an order) is not lost
    between two passes."""
    if profile is None or job.status == "archived":
        return []
    ctx = _Context(job, customers)
    found = [m for n in for_customers(profile) for m in _moments_of(n, ctx, since)]
    return sorted(found, key=lambda m: (m.due_at, m.notification.position, m.customer.id))


def for_customers(profile: Profile) -> list[Notification]:
    """The profile's active notifications to a job's customers (an invoice's are the invoice's)."""
    return [n for n in profile.notifications if n.enabled and triggers.get(n.trigger).reaches_customers]


def _moments_of(notification: Notification, ctx: _Context, since: datetime):
    trigger = triggers.get(notification.trigger)
    # A job's date or a voucher is the same occurrence for every customer: its moment is computed
    # once. (A customer's registration and orders are their own.)
    anchored = trigger.occurrence in (Occurrence.DATE_VALUE, Occurrence.VOUCHER)
    shared = list(_occurrences(notification, trigger, None, ctx)) if anchored else None
    if anchored and not trigger.catches_up:  # a moment that passed did so for everyone
        shared = [(occurred, due_at) for occurred, due_at in shared if due_at >= since]
    if anchored and not shared:
        return
    for customer in ctx.reached(notification.channel, notification.audience, notification.category):
        for occurred, due_at in shared if shared is not None else _occurrences(notification, trigger, customer, ctx):
            # A date or voucher moment that passed before the customer's sign-up counted
            # (confirmed) is not theirs, unless it is news that stays true (the trigger catches
            # up); what their own registration and orders start is.
            if anchored and due_at < customer.confirmed_at:
                if not trigger.catches_up:
                    continue
                due_at = customer.confirmed_at
            if due_at >= since:
                yield Moment(notification, customer, occurred, due_at)


def _in_group(channel: str, audience: str, category: str, customer: Customer, ctx: _Context) -> bool:
    """Target group, consent to the channel for this category of message (service, marketing), a
    confirmed sign-up, and not on the suppression list for it."""
    if customer.confirmed_at is None or (channel, category) not in ctx.consents[customer.id]:
        return False
    address = channels.get(channel).address(customer)
    if not address or (channel, address) in ctx.suppressed[category]:
        return False
    group = Audience(audience)
    is_buyer = customer.id in ctx.buyers
    return group is Audience.ALL or (group is Audience.BUYERS) == is_buyer


def reached(job: Job, channel: str, audience: str, category: str) -> list[Customer]:
    """The job's customers a message of this category to this target group on this channel reaches today."""
    return _Context(job).reached(channel, audience, category)


def _occurrences(notification: Notification, trigger: triggers.Trigger, customer: Customer | None, ctx: _Context):
    """(occurrence key, due moment) pairs of this notification for this customer (any customer,
    None, for a job's date or a voucher)."""
    if trigger.occurrence is Occurrence.REGISTRATION:
        # With double opt-in the welcome goes out once the sign-up is confirmed.
        yield occurrence(Occurrence.REGISTRATION, customer.id), _after(customer.confirmed_at, notification, trigger, ctx)
    elif trigger.occurrence is Occurrence.ORDER:
        for order in ctx.orders_of[customer.id]:
            if not trigger.stopped(order):
                yield occurrence(Occurrence.ORDER, order.id), _after(order.placed_at, notification, trigger, ctx)
    elif trigger.occurrence is Occurrence.VOUCHER:
        for voucher in ctx.vouchers:
            if not trigger.stopped(voucher):
                yield occurrence(Occurrence.VOUCHER, voucher.id), _on_day(voucher.expires_at, notification, trigger,
                                                                           ctx)
    else:
        value = _date_value(trigger, ctx)
        if value is not None:
            due = (_after(value, notification, trigger, ctx) if isinstance(value, datetime)
                   else _on_day(value, notification, trigger, ctx))
            yield occurrence(Occurrence.DATE_VALUE, date_subject(trigger.keys_off, value)), due


def _date_value(trigger: triggers.Trigger, ctx: _Context) -> date | datetime | None:
    return getattr(ctx.job, trigger.keys_off.removeprefix("job."))


def _after(event: datetime, notification: Notification, trigger: triggers.Trigger, ctx: _Context) -> datetime:
    return after_event(event, notification, trigger, ctx.studio, ctx.zone)


def _on_day(day: date, notification: Notification, trigger: triggers.Trigger, ctx: _Context) -> datetime:
    return on_day(day, notification, trigger, ctx.studio, ctx.zone)


def after_event(event: datetime, notification: Notification, trigger: triggers.Trigger, studio: Studio,
                zone: ZoneInfo) -> datetime:
    """Right after an event, or N days later at the send time."""
    if not trigger.takes_days:
        return event
    return at_local_time(event.astimezone(zone).date() + timedelta(days=notification.days or 0),
                         send_time(notification, studio), zone)


def on_day(day: date, notification: Notification, trigger: triggers.Trigger, studio: Studio,
           zone: ZoneInfo) -> datetime:
    """N days before or after a calendar date, at the send time."""
    shifted = day + timedelta(days=trigger.direction * (notification.days or 0))
    return at_local_time(shifted, send_time(notification, studio), zone)


def catching_up(job: Job, profile: Profile | None, now: datetime) -> list[Notification]:
    """The profile's notifications whose moment has passed for this job but which a customer
    who signs up from now on still gets, right after confirming ("the photos are online")."""
    if profile is None or job.status == "archived":
        return []
    passed = []
    for notification in profile.notifications:
        trigger = triggers.get(notification.trigger)
        value = getattr(job, trigger.keys_off.removeprefix("job."), None) if trigger.catches_up else None
        if notification.enabled and value is not None and value <= now:
            passed.append(notification)
    return passed


@dataclass
class DryRun:
    emails: int
    texts: int
    customers: int
    first_at: datetime | None
    last_at: datetime | None = None  # when the studio's sending limits stretch the emails out
    later_sign_ups: int = 0  # messages a customer who signs up from now on gets on confirming


def dry_run(job: Job, profile: Profile | None, now: datetime) -> DryRun:
    """What choosing ``profile`` for ``job`` would send from now on, as of today's customers.
    Counted from now: events that already happened have had (or are getting) their messages."""
    found = moments(job, profile, now)
    per_channel = Counter(m.notification.channel for m in found)
    last = paced_last(job.studio_id, found, now)
    return DryRun(per_channel["email"], per_channel["sms"], len({m.customer.id for m in found}),
                  found[0].due_at if found else None, max(last.values()) if last else None,
                  len(catching_up(job, profile, now)))


STRETCHED = timedelta(minutes=15)  # later than its moment by this much: say when the last one goes


def paced_last(studio_id: int, found: list[Moment], now: datetime) -> dict[int, datetime]:
    """Per notification, when its last message goes out under the studio's sending limits on its
    channel, after what already waits in the outbox; only where the limits stretch it by more
    than ``STRETCHED``."""
    last: dict[int, datetime] = {}
    for channel in channels.every():
        limits = channel.limits({studio_id}).get(studio_id)
        mine = sorted((m for m in found if m.notification.channel == channel.key), key=lambda m: m.due_at)
        if limits and mine:
            for moment, at in zip(mine, _paced(studio_id, channel.key, mine, limits, now)):
                if at - moment.due_at > STRETCHED:
                    last[moment.notification.id] = max(at, last.get(moment.notification.id, at))
    return last


def _paced(studio_id: int, channel: str, moments: list[Moment], limits: tuple[int | None, int | None],
           now: datetime) -> list[datetime]:
    mine = sa.and_(Message.studio_id == studio_id, Message.channel == channel)
    sent = db.session.scalars(sa.select(Message.sent_at).where(mine, Message.sent_since(now - timedelta(days=1))))
    waiting = db.session.scalar(sa.select(sa.func.count()).where(
        mine, Message.status.in_(("scheduled", "queued", "sending")), Message.due_at <= now))
    return pacing.spread([m.due_at for m in moments], *limits, [_utc(t) for t in sent], waiting, now)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def key_of(job: Job, moment: Moment) -> str:
    """The outbox's unique key of a moment (see ``Message.key``)."""
    return str(MessageKey(moment.notification.id, message_keys.customer(moment.customer.id), job.id,
                          moment.occurrence))


def coming(job: Job, now: datetime) -> list[Moment]:
    """The job's moments from now on that have no outbox row yet (one cancelled ahead has one)."""
    return [moment for _, moment in _coming_keyed(job, now)]


def coming_for(job: Job, now: datetime, customer: Customer) -> list[tuple[str, Moment]]:
    """What is coming for one of the job's customers, each with its key (``key_of``): what their
    row on the job page shows when opened, and their page."""
    return _coming_keyed(job, now, [customer])


def _coming_keyed(job: Job, now: datetime, customers: list[Customer] | None = None) -> list[tuple[str, Moment]]:
    found = moments(job, job.profile, now, customers)
    if not found:
        return []
    # The job's made messages of these notifications, rather than an IN list of every moment's key
    mine = [Message.customer_id.in_([c.id for c in customers])] if customers is not None else []
    made = set(db.session.scalars(sa.select(Message.key).where(
        Message.job_id == job.id, Message.notification_id.in_({m.notification.id for m in found}), *mine)))
    keyed = ((key_of(job, moment), moment) for moment in found)
    return [(key, moment) for key, moment in keyed if key not in made]


@dataclass
class TimelineRow:
    notification: Notification
    summary: str
    next_at: datetime | None  # the soonest coming moment of this notification
    recipients: int  # coming messages of this notification, as of today's customers
    last_at: datetime | None = None  # when its last email goes, where sending limits stretch it
    for_later_sign_ups: bool = False  # its moment passed; a customer who signs up now gets it on confirming
    replied: int = 0  # of the coming ones, customers who replied: skipped when due (``replies``)


def timeline(job: Job, now: datetime) -> list[TimelineRow]:
    """Per notification of the job's profile: when and how many (every customer's moments: the
    job page loads it after the page itself)."""
    per_notification: dict[int, list[Moment]] = {}
    found = coming(job, now)
    last = paced_last(job.studio_id, found, now)
    for moment in found:
        per_notification.setdefault(moment.notification.id, []).append(moment)
    caught_up = {n.id for n in catching_up(job, job.profile, now)}
    for moment in team_moments(job, now):
        per_notification.setdefault(moment.notification.id, []).append(moment)
    rows = []
    for notification in (job.profile.notifications if job.profile else []):
        trigger = triggers.get(notification.trigger)
        if not notification.enabled or trigger.occurrence.is_invoices:  # an invoice's: on the invoice's page
            continue
        own = per_notification.get(notification.id, [])
        replied = sum(1 for m in own if isinstance(m, Moment) and replies.stopped(notification, m.customer, m.due_at))
        rows.append(TimelineRow(notification, trigger.summary(notification.days), own[0].due_at if own else None,
                                len(own), last.get(notification.id), notification.id in caught_up, replied))
    return rows


@dataclass(frozen=True)
class TeamMoment:
    """A message to the job's client or someone on its team at a time (before the shoot)."""

    notification: Notification
    recipient: str  # the key's (message_keys): the client's contact, a user or a vendor's contact
    name: str
    due_at: datetime


def team_moments(job: Job, now: datetime) -> list[TeamMoment]:
    """The shoot date's messages to the job's client and team from ``now`` on that are not made
    yet, soonest first: ``materialise._job_people_messages``'s rules. A booking's or an
    assignment's message goes when it is made, so none of those is ever coming."""
    if job.profile is None or job.status == "archived" or job.shoot_date is None:
        return []
    studio = db.session.get(Studio, job.studio_id)
    members = team.team_of(job)  # with their user or contact: one query each, not one per member
    people = {Audience.STAFF: [(message_keys.user(m.user_id), m.name) for m in members if m.user_id],
              Audience.VENDORS: [(message_keys.contact(m.contact_id), m.name) for m in members if m.contact_id],
              Audience.CLIENT: [(message_keys.contact(job.client_id), job.client.name)] if job.client_id else []}
    found = []
    for notification in job.profile.notifications:
        trigger = triggers.get(notification.trigger)
        if notification.enabled and trigger.reaches_job_people and trigger.is_date:
            moment = on_day(job.shoot_date, notification, trigger, studio, ZoneInfo(studio.time_zone))
            if moment >= now:
                found += [TeamMoment(notification, recipient, name, moment)
                          for recipient, name in people.get(Audience(notification.audience), [])]
    keys = {_team_key(job, m): m for m in found}
    made = set(db.session.scalars(sa.select(Message.key).where(Message.key.in_(list(keys))))) if keys else set()
    return sorted((m for key, m in keys.items() if key not in made), key=lambda m: (m.due_at, m.notification.position))


def _team_key(job: Job, moment: TeamMoment) -> str:
    trigger = triggers.get(moment.notification.trigger)
    return str(MessageKey(moment.notification.id, moment.recipient, job.id,
                          occurrence(Occurrence.DATE_VALUE, date_subject(trigger.keys_off, job.shoot_date))))


@dataclass(frozen=True)
class Reminder:
    """A message an issued invoice's due date will still bring, to its client or the studio."""

    notification: Notification
    summary: str
    due_at: datetime


def invoice_reminders(invoice: Invoice, studio: Studio, now: datetime) -> list[Reminder]:
    """What the pass will make for the invoice's due date from ``now`` on (``materialise``'s
    ``_invoice_messages``), soonest first: not once it is paid or void, never before it was issued,
    and not what was made (or cancelled) already."""
    notifications = _invoice_notifications(invoice, studio)
    zone, found = ZoneInfo(studio.time_zone), []
    for notification in notifications:
        trigger = triggers.get(notification.trigger)
        if notification.enabled and trigger.is_date and trigger.occurrence is Occurrence.INVOICE \
                and not trigger.stopped(invoice):
            moment = on_day(invoice.due_on, notification, trigger, studio, zone)
            if moment >= max(now, invoice.issued_at):
                found.append(Reminder(notification, trigger.summary(notification.days), moment))
    occurred = occurrence(Occurrence.INVOICE, invoice.id)
    keys = {_invoice_key(invoice, r.notification, occurred): r for r in found}
    made = set(db.session.scalars(sa.select(Message.key).where(Message.key.in_(list(keys)))))
    return sorted((r for key, r in keys.items() if key not in made), key=lambda r: (r.due_at, r.notification.position))


def invoice_messages(invoice: Invoice) -> list[Message]:
    """The outbox's messages of an invoice and its payments, of any notification it ever had
    (found by their exact keys: the unique index, not a scan), newest moment first."""
    kinds = [key for key, trigger in triggers.CATALOGUE.items() if trigger.occurrence.is_invoices]
    notifications = db.session.scalars(sa.select(Notification).where(
        Notification.studio_id == invoice.studio_id, Notification.trigger.in_(kinds))).all()
    occurrences = [occurrence(Occurrence.INVOICE, invoice.id)] + [
        occurrence(Occurrence.PAYMENT, payment.id) for payment in invoice.payments]
    keys = [_invoice_key(invoice, n, occurred) for n in notifications for occurred in occurrences]
    return db.session.scalars(sa.select(Message).where(Message.studio_id == invoice.studio_id, Message.key.in_(keys))
                              .order_by(Message.due_at.desc(), Message.id.desc())).all() if keys else []


def _invoice_notifications(invoice: Invoice, studio: Studio) -> list[Notification]:
    profile_id = invoices.profile_id_of(invoice, studio)
    if profile_id is None or invoice.number is None:
        return []
    return db.session.scalars(sa.select(Notification).where(
        Notification.profile_id == profile_id, Notification.retired_at.is_(None))
        .order_by(Notification.position)).all()


def _invoice_key(invoice: Invoice, notification: Notification, occurred: str) -> str:
    recipient = (message_keys.contact(invoice.contact_id) if notification.audience == Audience.CLIENT
                 else message_keys.STUDIO)
    return str(MessageKey(notification.id, recipient, invoice.job_id or 0, occurred))
