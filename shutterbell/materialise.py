"""The scheduler pass in set-based SQL: the rules of ``scheduling.moments`` (target group,
consent, confirmed sign-up, suppression, the late-sign-up rules, the trigger's occurrence and
due moment), applied to every job at once with ``INSERT … SELECT … ON CONFLICT DO NOTHING``.

Per enabled notification of a profile some live job uses:
- instant events (registration, order): due at the event, one INSERT … SELECT;
- delayed events (N days after): the events of a slightly wider window are read as plain tuples,
  their due moments computed in the studio's zone (the databases disagree on time zones), and the
  due ones inserted;
- dates and vouchers: the due moment is per job (or voucher), computed in Python; each due one
  becomes an INSERT … SELECT over that job's customers;
- invoices and payments (``_invoice_messages``): to the invoice's client or the studio, the same
  way: an event in one INSERT … SELECT, a due date's moment per invoice;
- a job's client, team or the studio (``_job_people_messages``): a booking or an assignment at
  once, the shoot date's moment per job.

Rows are made unwritten (subject and body empty): the worker writes a message when it first
claims it, so a pass stays a handful of statements however many messages fall due. A test keeps
this module and ``scheduling.moments`` (which the job timeline shows) in agreement.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel.speaklater import LazyString
from sqlalchemy.orm import aliased

from . import channels, message_keys, scheduling, suppression, triggers
from .extensions import db
from .i18n import speaking
from .models import (Assignment, Consent, ContactAddress, Contact, Customer, Invoice, Job, Message, Notification,
                     Order, Payment, Studio, Suppression, User, UTCDateTime, Voucher)
from .message_keys import date_subject, key_sql, occurrence, occurrence_sql
from .triggers import Audience, Category, Occurrence

# An event's local day can differ from its UTC day by one; read a little more and filter exactly.
SLACK = timedelta(days=2)
UNIQUE_VIOLATION = "23505"  # PostgreSQL's SQLSTATE


@dataclass(frozen=True)
class Pass:
    since: datetime
    until: datetime
    late_before: datetime  # due before this: made as skipped (the app was down too long)
    late_reason: str | LazyString  # said in each studio's language


@dataclass(frozen=True)
class _Plan:
    notification: Notification
    trigger: triggers.Trigger
    studio: Studio
    zone: ZoneInfo
    channel: channels.Channel
    has_account: bool  # the studio has an account on the channel (see Channel.no_account_reason)


def make_due(window: Pass) -> int:
    """Insert a Message row for every moment due in [since, until]; returns how many are new.
    Why one is made skipped is written in its studio's language (the outbox shows it)."""
    made = 0
    for plan in _plans():
        with speaking(plan.studio):
            made += _make(plan, window)
    return made


def _make(plan: _Plan, window: Pass) -> int:
    kind = plan.trigger.occurrence
    if kind.is_invoices:
        return _invoice_messages(plan, window)
    if plan.trigger.reaches_job_people:
        return _job_people_messages(plan, window)
    if kind in (Occurrence.REGISTRATION, Occurrence.ORDER):
        return _delayed_events(plan, window) if plan.trigger.takes_days else _instant_events(plan, window)
    return _anchored(plan, window) + (_caught_up(plan, window) if plan.trigger.catches_up else 0)


def _plans() -> list[_Plan]:
    """The enabled notifications of the profiles in use: a live job's (for its customers), and for
    invoices, an invoiced job's or a studio's default profile (whatever its job's state, an
    invoice's reminders go on)."""
    live = set(db.session.scalars(sa.select(Job.profile_id).where(
        Job.profile_id.is_not(None), Job.status != "archived").distinct()))
    invoicing = set(db.session.scalars(sa.select(Job.profile_id).join(Invoice, Invoice.job_id == Job.id).where(
        Job.profile_id.is_not(None), Invoice.number.is_not(None)).distinct()))
    invoicing |= set(db.session.scalars(sa.select(Studio.default_profile_id).where(
        Studio.default_profile_id.is_not(None))))
    notifications = [n for n in db.session.scalars(sa.select(Notification).where(
        Notification.profile_id.in_(live | invoicing), Notification.enabled, Notification.retired_at.is_(None)))
        if n.profile_id in (invoicing if triggers.get(n.trigger).occurrence.is_invoices else live)]
    studios = {s.id: s for s in db.session.scalars(sa.select(Studio).where(
        Studio.id.in_({n.studio_id for n in notifications})))}
    with_account = {channel.key: set(db.session.scalars(channel.studios_with_account()))
                    for channel in channels.every() if channel.no_account_reason}
    plans = []
    for n in notifications:
        channel = channels.get(n.channel)
        plans.append(_Plan(n, triggers.get(n.trigger), studios[n.studio_id], ZoneInfo(studios[n.studio_id].time_zone),
                           channel, n.studio_id in with_account.get(channel.key, (n.studio_id,))))
    return plans


def _reached(notification: Notification) -> list:
    """Who a notification reaches: the same rules as ``scheduling._in_group``, as SQL conditions on
    Customer and Job (both in the FROM clause)."""
    address = channels.get(notification.channel).address_column()
    # Service mail goes past an unsubscribe from offers; marketing stops at any entry.
    listed = [Suppression.studio_id == Customer.studio_id, Suppression.channel == notification.channel,
              Suppression.address == address]
    if notification.category == Category.SERVICE:
        listed.append(Suppression.marketing_only.is_(False))
    conditions = [
        Customer.job_id == Job.id, Job.profile_id == notification.profile_id, Job.status != "archived",
        Customer.confirmed_at.is_not(None), Customer.erased_at.is_(None),
        address.is_not(None), address != "",
        sa.exists().where(Consent.customer_id == Customer.id, Consent.channel == notification.channel,
                          Consent.purpose == notification.category, Consent.withdrawn_at.is_(None)),
        ~sa.exists().where(*listed),
    ]
    other = aliased(Order)  # the outer query may join Order itself (order triggers)
    bought = sa.exists().where(other.customer_id == Customer.id, other.cancelled_at.is_(None))
    audience = Audience(notification.audience)
    if audience is Audience.BUYERS:
        conditions.append(bought)
    elif audience is Audience.POTENTIAL_BUYERS:
        conditions.append(~bought)
    return conditions


def _status(notification: Notification) -> str:
    return "awaiting_approval" if notification.requires_approval else "scheduled"


_COLUMNS = ["studio_id", "job_id", "customer_id", "notification_id", "key", "channel", "recipient", "subject",
            "body", "message_id", "due_at", "status", "attempts", "last_error", "cause", "created_at", "contact_id",
            "category"]


def _insert(select: sa.Select, params: dict | None = None) -> int:
    """Insert the rows ``select`` yields whose key is new; returns how many it inserted."""
    if db.engine.dialect.name == "postgresql":
        return _insert_postgresql(select, params or {})
    from sqlalchemy.dialects.sqlite import insert
    statement = insert(Message.__table__).from_select(_COLUMNS, select).on_conflict_do_nothing(index_elements=["key"])
    return db.session.execute(statement, params or {}).rowcount  # SQLite counts only the rows it inserted


def _insert_postgresql(select: sa.Select, params: dict) -> int:
    """The SELECT itself leaves out the keys already made, and a plain INSERT writes them: with ON
    CONFLICT's speculative insertion the first pass of bench/scheduler.py took 1.6 s, not 1.4. Only a
    pass running at this moment, or a cancellation from a timeline, can still take a key first;
    then the statement runs again with ON CONFLICT DO NOTHING (twice the work, only then)."""
    from sqlalchemy.dialects.postgresql import insert
    key = select.selected_columns[_COLUMNS.index("key")]
    fresh = select.where(~sa.exists().where(Message.key == key))
    try:
        with db.session.begin_nested():
            return _count_inserted(insert(Message.__table__).from_select(_COLUMNS, fresh), params)
    except sa.exc.IntegrityError as error:
        if getattr(error.orig, "sqlstate", None) != UNIQUE_VIOLATION:
            raise
        statement = insert(Message.__table__).from_select(_COLUMNS, select).on_conflict_do_nothing(
            index_elements=["key"])
        return _count_inserted(statement, params)


def _count_inserted(statement, params: dict) -> int:
    """PostgreSQL gives no row count for INSERT … SELECT here: count in the database."""
    made = statement.returning(sa.literal(1)).cte("made")
    return db.session.scalar(sa.select(sa.func.count()).select_from(made), params)


def _row_select(plan: _Plan, window: Pass, key, occurrence_due, *, customer_joins=()) -> sa.Select:
    """SELECT of Message columns for customers the notification reaches, due at ``occurrence_due``
    (a column or a bound value)."""
    n = plan.notification
    late = occurrence_due < window.late_before
    if not plan.has_account:  # waiting for an account would send stale texts later
        status, reason = sa.literal("skipped"), sa.literal(str(plan.channel.no_account_reason))
    else:
        status = sa.case((late, sa.literal("skipped")), else_=sa.literal(_status(n)))
        reason = sa.case((late, sa.literal(str(window.late_reason))), else_=sa.literal(""))
    return (sa.select(
        Customer.studio_id, Job.id, Customer.id, sa.literal(n.id), key, sa.literal(n.channel), plan.channel.address_column(),
        sa.literal(""), sa.literal(""), sa.literal(""), occurrence_due, status, sa.literal(0), reason, sa.literal(""),
        sa.literal(window.until, UTCDateTime), sa.null(), sa.literal(n.category))
        .select_from(Customer).join(Job, Customer.job_id == Job.id)
        .where(*_reached(n)))


def _instant_events(plan: _Plan, window: Pass) -> int:
    """Registration (from the confirmation) and order placed: due at the event itself. An event
    can be written after its own time (an import commits in chunks, a shop reports an order late):
    such rows are found by when they were written, and are due at once."""
    n = plan.notification
    since, until = sa.literal(window.since, UTCDateTime), sa.literal(window.until, UTCDateTime)
    if plan.trigger.occurrence is Occurrence.REGISTRATION:
        key = key_sql(n.id, Customer.id, Job.id, occurrence_sql(Occurrence.REGISTRATION, Customer.id))
        base = _row_select(plan, window, key, Customer.confirmed_at)
        event, written = Customer.confirmed_at, Customer.created_at
    else:
        key = key_sql(n.id, Customer.id, Job.id, occurrence_sql(Occurrence.ORDER, Order.id))
        base = (_row_select(plan, window, key, Order.placed_at)
                .join(Order, sa.and_(Order.customer_id == Customer.id, Order.job_id == Job.id))
                .where(*plan.trigger.going(Order)))
        event, written = Order.placed_at, Order.created_at
    return (_insert(base.where(event >= since, event <= until))
            + _insert(base.where(written >= since, written <= until, event < since)))


def _delayed_events(plan: _Plan, window: Pass) -> int:
    """N days after a registration or an order, at the send time: exact in Python, inserted in one go."""
    n, days = plan.notification, timedelta(days=plan.notification.days or 0)
    low, high = window.since - days - SLACK, window.until - days + SLACK
    if plan.trigger.occurrence is Occurrence.REGISTRATION:
        query = (sa.select(Customer.id, Customer.confirmed_at, sa.null()).select_from(Customer)
                 .join(Job, Customer.job_id == Job.id)
                 .where(*_reached(n), Customer.confirmed_at >= low, Customer.confirmed_at <= high))
    else:
        query = (sa.select(Customer.id, Order.placed_at, Order.id).select_from(Customer)
                 .join(Job, Customer.job_id == Job.id)
                 .join(Order, sa.and_(Order.customer_id == Customer.id, Order.job_id == Job.id))
                 .where(*_reached(n), *plan.trigger.going(Order), Order.placed_at >= low, Order.placed_at <= high))
    due = []
    for customer_id, event, order_id in db.session.execute(query):
        moment = scheduling.after_event(event, n, plan.trigger, plan.studio, plan.zone)
        if window.since <= moment <= window.until:
            due.append({"customer": customer_id, "due": moment,
                        "occurrence": occurrence(Occurrence.REGISTRATION, customer_id) if order_id is None
                        else occurrence(Occurrence.ORDER, order_id)})
    return _insert_for_customers(plan, window, due)


def _anchored(plan: _Plan, window: Pass) -> int:
    """Date and voucher triggers: the due moment is the job's (or voucher's), the same for all its
    customers; a customer who confirmed after it does not get it."""
    n, trigger = plan.notification, plan.trigger
    live_jobs = sa.and_(Job.profile_id == n.profile_id, Job.status != "archived")
    low, high = _value_range(plan, window)
    due = []
    if trigger.occurrence is Occurrence.VOUCHER:
        rows = db.session.execute(sa.select(Voucher.job_id, Voucher.id, Voucher.expires_at)
                                  .join(Job, Voucher.job_id == Job.id)
                                  .where(live_jobs, *trigger.going(Voucher),
                                         Voucher.expires_at.between(low.date(), high.date())))
        for job_id, voucher_id, expires in rows:
            due.append((job_id, occurrence(Occurrence.VOUCHER, voucher_id),
                        scheduling.on_day(expires, n, trigger, plan.studio, plan.zone), False))
    else:
        column = getattr(Job, trigger.keys_off.removeprefix("job."))
        is_day = isinstance(column.type, sa.Date)
        bounds = (low.date(), high.date()) if is_day else (low, high)
        in_range = column.between(*bounds)
        if not is_day and not trigger.takes_days:  # "photos are online": also when entered late
            in_range = sa.or_(in_range, Job.updated_at.between(window.since, window.until))
        for job_id, value in db.session.execute(sa.select(Job.id, column).where(live_jobs, column.is_not(None),
                                                                                in_range)):
            moment = (scheduling.on_day(value, n, trigger, plan.studio, plan.zone) if is_day
                      else scheduling.after_event(value, n, trigger, plan.studio, plan.zone))
            late_entry = not is_day and not trigger.takes_days
            due.append((job_id, occurrence(Occurrence.DATE_VALUE, date_subject(trigger.keys_off, value)), moment,
                        late_entry))
    made = 0
    for job_id, occurred, moment, late_entry in due:
        if moment > window.until or (moment < window.since and not late_entry):
            continue
        at = sa.literal(moment, UTCDateTime)
        key = key_sql(n.id, Customer.id, job_id, occurred)
        made += _insert(_row_select(plan, window, key, at).where(Job.id == job_id, Customer.confirmed_at <= at))
    return made


def _caught_up(plan: _Plan, window: Pass) -> int:
    """A trigger that catches up ("the photos are online"): a customer who confirmed after the
    job's moment gets it at their confirmation. Found, as instant events are, by the confirmation
    falling in the window or the customer's row being written in it; or by the job's date being
    entered late, then only for confirmations still within the grace period (editing a job must
    not dig up every late sign-up of its past as a skipped message)."""
    n, trigger = plan.notification, plan.trigger
    value = getattr(Job, trigger.keys_off.removeprefix("job."))
    since, until = window.since, window.until
    late_sign_up = [Customer.confirmed_at > value, Customer.confirmed_at <= until,
                    sa.or_(Customer.confirmed_at.between(since, until), Customer.created_at.between(since, until),
                           sa.and_(Job.updated_at.between(since, until), Customer.confirmed_at >= window.late_before))]
    jobs = db.session.execute(sa.select(Job.id, value).distinct().select_from(Customer)
                              .join(Job, Customer.job_id == Job.id)
                              .where(*_reached(n), value.is_not(None), *late_sign_up))
    made = 0
    for job_id, moment in jobs.all():
        key = key_sql(n.id, Customer.id, job_id,
                      occurrence(Occurrence.DATE_VALUE, date_subject(trigger.keys_off, moment)))
        made += _insert(_row_select(plan, window, key, Customer.confirmed_at).where(Job.id == job_id, *late_sign_up))
    return made


def _value_range(plan: _Plan, window: Pass) -> tuple[datetime, datetime]:
    """The dates (or times) whose moment can fall in the window: shifted back by the notification's
    days, widened by a day or two for the studio's zone and send time. Exact moments are computed
    for these few rows only."""
    shift = timedelta(days=plan.trigger.direction * (plan.notification.days or 0))
    return window.since - shift - SLACK, window.until - shift + SLACK


def _insert_for_customers(plan: _Plan, window: Pass, due: list[dict]) -> int:
    if not due:
        return 0
    n = plan.notification
    at = sa.bindparam("due", type_=UTCDateTime)
    key = key_sql(n.id, Customer.id, Job.id, sa.bindparam("occurrence", type_=sa.String))
    select = _row_select(plan, window, key, at).where(Customer.id == sa.bindparam("customer"))
    return sum(_insert(select, params) for params in due)


def _invoice_messages(plan: _Plan, window: Pass) -> int:
    """An invoice's messages: issued and payment received at the event, the due date's reminders
    at the send time of their day (never before the invoice was issued)."""
    trigger, since, until = plan.trigger, window.since, window.until
    if trigger.occurrence is Occurrence.PAYMENT:
        paid = Payment.created_at
        return _insert(_invoice_select(plan, window, paid, occurrence_sql(Occurrence.PAYMENT, Payment.id))
                       .join(Payment, Payment.invoice_id == Invoice.id).where(paid >= since, paid <= until))
    if not trigger.is_date:
        issued = Invoice.issued_at
        return _insert(_invoice_select(plan, window, issued, occurrence_sql(Occurrence.INVOICE, Invoice.id))
                       .where(issued >= since, issued <= until))
    low, high = _value_range(plan, window)
    rows = db.session.execute(sa.select(Invoice.id, Invoice.due_on, Invoice.issued_at).outerjoin(Job, Invoice.job_id == Job.id)
                              .where(*_invoices_of(plan), Invoice.due_on.between(low.date(), high.date())))
    made = 0
    for invoice_id, due_on, issued_at in rows.all():
        moment = scheduling.on_day(due_on, plan.notification, trigger, plan.studio, plan.zone)
        if since <= moment <= until and moment >= issued_at:
            at = sa.literal(moment, UTCDateTime)
            made += _insert(_invoice_select(plan, window, at, occurrence(Occurrence.INVOICE, invoice_id))
                            .where(Invoice.id == invoice_id))
    return made


def _invoices_of(plan: _Plan) -> list:
    """Issued invoices whose profile is the notification's (their job's; without a job, the
    studio's default profile) and that the trigger's stops (paid, voided) do not end. Job is
    outer-joined."""
    n = plan.notification
    profile = Job.profile_id == n.profile_id
    if plan.studio.default_profile_id == n.profile_id:
        profile = sa.or_(profile, Invoice.job_id.is_(None))
    return [Invoice.studio_id == n.studio_id, Invoice.number.is_not(None), profile, *plan.trigger.going(Invoice)]


def _invoice_select(plan: _Plan, window: Pass, due, occurred) -> sa.Select:
    """SELECT of Message columns for the invoice's client, or the studio (its first owner)."""
    n = plan.notification
    if Audience(n.audience) is Audience.CLIENT:
        person = _Person(_contact_address(n.channel, Invoice.contact_id, Invoice), message_keys.contact_sql(
            Invoice.contact_id), Invoice.contact_id, _("The client has no email address.") if n.channel == "email"
            else _("The client has no mobile number."))
    else:
        person = _Person(_owner_address(Invoice.studio_id, Invoice), message_keys.STUDIO, sa.null(), _("The studio has no owner with an address."))
    return (_service_select(plan, window, person, Invoice.studio_id, Invoice.job_id, due, occurred)
            .select_from(Invoice).outerjoin(Job, Invoice.job_id == Job.id).where(*_invoices_of(plan)))


@dataclass(frozen=True)
class _Person:
    """Whom a message that reaches no customer goes to, as SQL: an invoice's client, the studio,
    a team member."""

    address: sa.ColumnElement  # NULL or "": made skipped, saying ``missing``
    recipient: tuple | str  # for the key (message_keys)
    contact_id: sa.ColumnElement  # Message.contact_id: a client's, a vendor's; NULL for the rest
    missing: str


def _service_select(plan: _Plan, window: Pass, person: _Person, studio_id, job_id, due, occurred) -> sa.Select:
    """The Message columns of service mail (an invoice's, a team member's): nothing to
    unsubscribe from, so an unsubscribe from the studio's news does not stop it; a bounce, an
    erasure or an SMS STOP does. A message that cannot go is made skipped, with the reason,
    rather than not at all: the invoice or job page shows it."""
    n = plan.notification
    address = sa.func.coalesce(person.address, "")
    blocked = sa.exists().where(Suppression.studio_id == studio_id, Suppression.channel == n.channel,
                                Suppression.address == address, Suppression.reason.in_(suppression.STOPS_SERVICE))
    skips = [(address == "", person.missing),
             (blocked, _("The address is on the suppression list (a bounce, an erasure, a STOP)."))]
    if not plan.has_account:
        skips.append((sa.true(), str(plan.channel.no_account_reason)))
    skips.append((due < window.late_before, window.late_reason))
    status = sa.case(*((when, sa.literal("skipped")) for when, _why in skips), else_=sa.literal(_status(n)))
    reason = sa.case(*((when, sa.literal(str(why))) for when, why in skips), else_=sa.literal(""))
    key = key_sql(n.id, person.recipient, sa.func.coalesce(job_id, 0), occurred)
    return sa.select(studio_id, job_id, sa.null(), sa.literal(n.id), key, sa.literal(n.channel), address,
                     sa.literal(""), sa.literal(""), sa.literal(""), due, status, sa.literal(0), reason, sa.literal(""),
                     sa.literal(window.until, UTCDateTime), person.contact_id, sa.literal(n.category))


def _contact_address(channel: str, contact_id: sa.ColumnElement, correlated) -> sa.ScalarSelect:
    """Where a contact is written to: its first address (``Contact.email``), or its number.
    Correlated to the pass's row explicitly: inside the suppression check's EXISTS, automatic
    correlation would look one level up only, and read another row's contact."""
    if channel == "sms":
        return sa.select(Contact.phone).where(Contact.id == contact_id).correlate(correlated).scalar_subquery()
    return (sa.select(ContactAddress.address).where(ContactAddress.contact_id == contact_id)
            .order_by(ContactAddress.id).limit(1).correlate(correlated).scalar_subquery())


def _job_people_messages(plan: _Plan, window: Pass) -> int:
    """To a job's client, its staff members or vendors, or the studio: when the job is booked or
    someone is assigned (at once), or N days before the shoot at the send time (a job at a time,
    like ``_anchored``), for whoever was on the job by then."""
    n, trigger, since, until = plan.notification, plan.trigger, window.since, window.until
    if trigger.occurrence is Occurrence.ASSIGNMENT:
        at = Assignment.assigned_at
        return _insert(_people_select(plan, window, at, occurrence_sql(Occurrence.ASSIGNMENT, Assignment.id))
                       .where(at >= since, at <= until))
    column = getattr(Job, trigger.keys_off.removeprefix("job."))
    low, high = (since, until) if not trigger.is_date else (d.date() for d in _value_range(plan, window))
    made = 0
    for job_id, value in db.session.execute(sa.select(Job.id, column).where(
            Job.profile_id == n.profile_id, Job.status != "archived", column.between(low, high))).all():
        moment = scheduling.on_day(value, n, trigger, plan.studio, plan.zone) if trigger.is_date else value
        if since <= moment <= until:
            at = sa.literal(moment, UTCDateTime)
            occurred = occurrence(Occurrence.DATE_VALUE, date_subject(trigger.keys_off, value))
            made += _insert(_people_select(plan, window, at, occurred).where(Job.id == job_id, *_joined_by(plan, at)))
    return made


def _joined_by(plan: _Plan, moment) -> list:
    """A date's message is for whoever was on the job by its moment (the studio always is)."""
    audience = Audience(plan.notification.audience)
    if audience in triggers.TEAM:
        return [Assignment.assigned_at <= moment]
    return [Job.booked_at <= moment] if audience is Audience.CLIENT else []


def _people_select(plan: _Plan, window: Pass, due, occurred) -> sa.Select:
    """SELECT of Message columns for the client of the notification's live jobs, their staff
    members (users) or vendors (contacts), or the studio (its first owner)."""
    n = plan.notification
    audience = Audience(n.audience)
    if audience is Audience.STAFF:
        person = _Person(sa.select(User.email).where(User.id == Assignment.user_id).correlate(Assignment)
                         .scalar_subquery(), message_keys.user_sql(Assignment.user_id), sa.null(),
                         _("The staff member has no email address."))
    elif audience is Audience.VENDORS:
        person = _Person(_contact_address(n.channel, Assignment.contact_id, Assignment),
                         message_keys.contact_sql(Assignment.contact_id), Assignment.contact_id,
                         _("The vendor has no email address.") if n.channel == "email"
                         else _("The vendor has no mobile number."))
    elif audience is Audience.CLIENT:
        person = _Person(_contact_address(n.channel, Job.client_id, Job), message_keys.contact_sql(Job.client_id),
                         Job.client_id, _("The client has no email address.") if n.channel == "email"
                         else _("The client has no mobile number."))
    else:
        person = _Person(_owner_address(Job.studio_id, Job), message_keys.STUDIO, sa.null(),
                         _("The studio has no owner with an address."))
    live = [Job.profile_id == n.profile_id, Job.status != "archived"]
    if audience in triggers.TEAM:
        whom = Assignment.user_id if audience is Audience.STAFF else Assignment.contact_id
        return (_service_select(plan, window, person, Assignment.studio_id, Assignment.job_id, due, occurred)
                .select_from(Assignment).join(Job, Assignment.job_id == Job.id).where(whom.is_not(None), *live))
    if audience is Audience.CLIENT:
        live.append(Job.client_id.is_not(None))
    return _service_select(plan, window, person, Job.studio_id, Job.id, due, occurred).select_from(Job).where(*live)


def _owner_address(studio_id: sa.ColumnElement, correlated) -> sa.ScalarSelect:
    """An internal alert's address: the studio's first owner who signed up."""
    return User.first_owner_email(studio_id).correlate(correlated).scalar_subquery()
