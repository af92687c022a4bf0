"""The scheduler pass (the rows of messages that fell due) and the messages made at once: the
double opt-in email, and a cancellation from a job's timeline."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import (channels, composer, mailsettings, materialise, message_keys, scheduling, settings, suppression,
               templating)
from ..extensions import db
from ..i18n import speaking
from ..models import MAX_ID, Customer, Job, Message, SchedulerPass, Studio, utcnow
from ..settings import Policy
from .outcomes import record
from .studio_batch import StudioBatch, customer_removed

log = logging.getLogger(__name__)

# A registration committed just after a pass read the clock can carry an earlier timestamp than
# the pass: each pass looks this far behind the last one (the unique key makes overlaps harmless).
# Such a race lasts as long as a transaction, far less than this; a longer overlap would re-check
# a large import's rows on every pass.
OVERLAP = timedelta(minutes=1)


def schedule(now: datetime, policy: Policy) -> int:
    """Make the Message row of every moment that fell due since the last pass; returns how many.
    Safe to run twice at once, or after hours of downtime: it works from the database, not from
    "the last minute", and the unique key drops what another pass made."""
    last = db.session.scalar(sa.select(sa.func.max(SchedulerPass.started_at)))
    since = last - OVERLAP if last else now - policy.grace
    late = _l("Its moment passed more than %(hours)d hours before the app could send it.",
              hours=policy.grace.total_seconds() // 3600)
    made = materialise.make_due(materialise.Pass(since, now, now - policy.grace, late))
    db.session.add(SchedulerPass(started_at=now, finished_at=utcnow(), made=made))
    db.session.commit()
    batches: dict[int, StudioBatch] = {}
    for message in db.session.scalars(sa.select(Message).where(
            Message.status == "awaiting_approval", Message.body == "")).all():
        if message.studio_id not in batches:
            batches[message.studio_id] = StudioBatch(db.session.get(Studio, message.studio_id), policy)
        if message.customer is None and not message_keys.reaches_no_customer(message.key):
            with speaking(batches[message.studio_id].studio):
                record(message, expect=message.status, status="skipped", last_error=customer_removed())
            continue
        try:
            problem = batches[message.studio_id].write(message)  # an approver sees exactly what will go out
        except Exception:  # one message must not stop every studio's pass; the worker writes it later
            log.exception("Writing message %s for approval failed unexpectedly", message.id)
            db.session.rollback()
            continue
        if problem:
            record(message, expect=message.status, status="failed", last_error=problem, cause="render_error")
    for batch in batches.values():
        batch.store_written()
    return made


def _insert_new(rows: list[dict]) -> int:
    """INSERT ... ON CONFLICT (key) DO NOTHING, on SQLite and PostgreSQL alike."""
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(Message).on_conflict_do_nothing(index_elements=["key"]).returning(Message.id)
    return len(db.session.execute(statement, rows).all())


def cancel_ahead(job: Job, key: str, now: datetime) -> bool:
    """Cancel one coming message before it is due: its row is made now, as cancelled, so the
    unique key keeps the scheduler from ever making it. Only a moment still coming for the
    customer the key names (theirs alone are worked out, not the whole job's)."""
    parsed = message_keys.MessageKey.parse(key)
    customer_id = parsed.customer_id if parsed else None
    customer = db.session.get(Customer, customer_id) if customer_id and customer_id <= MAX_ID else None
    if customer is None or customer.job_id != job.id:
        return False
    moment = next((m for k, m in scheduling.coming_for(job, now, customer) if k == key), None)
    if moment is None:
        return False
    channel = channels.get(moment.notification.channel)
    _insert_new([{"studio_id": job.studio_id, "job_id": job.id, "customer_id": customer.id,
                  "notification_id": moment.notification.id, "key": key, "channel": channel.key,
                  "recipient": channel.address(customer),
                  "subject": "", "body": "", "message_id": "", "due_at": moment.due_at, "status": "cancelled",
                  "last_error": _("Cancelled before it was due."), "created_at": now}])
    db.session.commit()
    return True


def queue_confirmation(customer: Customer, now: datetime) -> Message | None:
    """The double opt-in email, made at once when a public sign-up needs confirming, and again
    when the person signs up again or staff resend it, at most once per ``RESEND_AFTER``
    (a form that anyone can post must not become a way to flood an inbox). The link and the
    "someone asked for this" note are added below the studio's text: no edit leaves them out.
    Returns the message made, or None: confirmed already, or one was made too recently."""
    if customer.confirmed_at is not None or customer.confirm_token is None:
        return None
    sent_before, resend_at = _confirmations(customer)
    if resend_at is not None and now < resend_at:
        return None
    studio = db.session.get(Studio, customer.studio_id)
    job = db.session.get(Job, customer.job_id)
    account = mailsettings.account_of(studio)
    base_url = settings.current().base_url
    key = message_keys.confirmation(customer.id, sent_before)
    row = {"studio_id": studio.id, "job_id": job.id, "customer_id": customer.id, "key": key, "channel": "email",
           "recipient": customer.email, "due_at": now, "status": "scheduled", "last_error": "",
           "message_id": composer.message_id_for(key, account.from_address), "created_at": now}
    try:
        with speaking(studio):  # the customer reads the studio's language, whoever asked
            subject, body = composer.confirmation_texts(studio)
            rendered = templating.render(subject, body, "email", composer.context_for(studio, job, customer, base_url))
            row.update(subject=rendered.subject, body=composer.confirmation_body(rendered.text, base_url, customer))
    except templating.TemplateProblem as problem:
        row.update(status="failed", last_error=str(problem)[:500], cause="render_error", subject="", body="")
    made = _insert_new([row])  # 0 when a resend at the same moment took the key first
    db.session.commit()
    return db.session.scalar(sa.select(Message).where(Message.key == key)) if made else None


RESEND_AFTER = timedelta(hours=1)


def request_resubscription(customer: Customer, confirm_url: str, now: datetime) -> Message | None:
    """Someone who unsubscribed asks, from the unsubscribe page, for emails again: one email to
    their address with a link that confirms it (the page alone proves nothing: a forwarded email
    carries its link). At most one per ``RESEND_AFTER``. None when none is made."""
    entry = suppression.unsubscribed(customer)
    if entry is None or entry.reason != "unsubscribed" or customer.erased_at is not None:
        return None
    count, next_at = _asked_before(customer, message_keys.resubscriptions_of(Message.key, customer.id))
    if next_at is not None and now < next_at:
        return None
    studio = db.session.get(Studio, customer.studio_id)
    job = db.session.get(Job, customer.job_id)
    key = message_keys.resubscription(customer.id, count)
    with speaking(studio):
        what = (_("offers from %(studio)s", studio=studio.name) if entry.marketing_only else
                _("emails from %(studio)s about the photos of %(job)s", studio=studio.name, job=job.name))
        body = _("Hello %(name)s,\n\nyou asked to get %(what)s again. "
                 "Confirm it here (the link works for 7 days):\n\n%(url)s\n\n"
                 "If you did not ask for this, ignore this email: you stay unsubscribed.",
                 name=customer.first_name, what=what, url=confirm_url)
        subject = _("Emails from %(studio)s again?", studio=studio.name)
    made = _insert_new([{
        "studio_id": studio.id, "job_id": job.id, "customer_id": customer.id, "key": key, "channel": "email",
        "recipient": customer.email, "subject": subject, "body": body,
        "message_id": composer.message_id_for(key, mailsettings.account_of(studio).from_address), "due_at": now,
        "status": "scheduled", "last_error": "", "created_at": now}])
    db.session.commit()
    return db.session.scalar(sa.select(Message).where(Message.key == key)) if made else None


def confirmation_resend_at(customer: Customer) -> datetime | None:
    """When the confirmation email may be sent again (None: no confirmation was sent yet)."""
    return _confirmations(customer)[1]


def _confirmations(customer: Customer) -> tuple[int, datetime | None]:
    return _asked_before(customer, message_keys.confirmations_of(Message.key, customer.id))


def _asked_before(customer: Customer, keys: sa.ColumnElement[bool]) -> tuple[int, datetime | None]:
    """How many of these emails the customer was sent, and when another may follow (None: any time)."""
    count, last = db.session.execute(sa.select(sa.func.count(), sa.func.max(Message.created_at)).where(
        Message.customer_id == customer.id, keys)).one()
    return (count, _aware(last) + RESEND_AFTER) if count else (0, None)


def _aware(moment: datetime) -> datetime:
    """SQLite's max() comes back naive (it is UTC)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
