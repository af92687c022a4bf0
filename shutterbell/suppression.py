"""The studio's suppression list: an unsubscribe, an erasure, a hard bounce or an SMS STOP applies
to that address on every job of the studio, not only the job it came through.

What an entry stops: an unsubscribe from offers (``marketing_only``) stops marketing; an
unsubscribe stops every message to customers (service and marketing) but not the service mail of
a contract (an invoice, a booking: ``STOPS_SERVICE``); a bounce, an erasure or a STOP stops all."""
from __future__ import annotations

import secrets
from collections.abc import Collection
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeTimedSerializer

from . import alerts, paging, settings
from .extensions import db
from .models import Consent, Customer, Message, Suppression


def suppress(studio_id: int, channel: str, address: str | None, reason: str, now: datetime,
             marketing_only: bool = False) -> None:
    """Add an address (no commit). Already listed: keep the first reason and time, unless the
    entry stopped offers only and this stops more."""
    if not address:
        return
    entry = db.session.scalar(sa.select(Suppression).where(
        Suppression.studio_id == studio_id, Suppression.channel == channel, Suppression.address == address))
    if entry is None:
        db.session.add(Suppression(studio_id=studio_id, channel=channel, address=address, reason=reason, since=now,
                                   marketing_only=marketing_only))
    elif entry.marketing_only and not marketing_only:
        entry.reason, entry.since, entry.marketing_only = reason, now, False


PAGE_SIZE = 50
# Which entries the owner may lift: a bounce after fixing a typo in the address. An unsubscribe or
# a STOP takes the person's own new consent (the way back on the unsubscribe page); an erasure
# never comes back.
LIFTABLE = ("bounced",)
# What stops service mail too (an invoice, a reminder of it): the address does not work, the
# person was erased, or a text message STOP (which stops every text). An unsubscribe is from the
# studio's news, and leaves service mail going.
STOPS_SERVICE = ("bounced", "erased", "stop")


def applies_to(entry: Suppression) -> str:
    """What the entry stops, as the list shows it."""
    if entry.marketing_only:
        return str(_l("Offers (marketing mail)"))
    if entry.reason in STOPS_SERVICE:
        return str(_l("All mail"))
    return str(_l("Every message to customers; invoices and bookings still go"))


def list_entries(studio_id: int, search: str = "", page: int = 1) -> paging.Page:
    """The studio's list, newest first, filtered by a part of the address (case-insensitive)."""
    where = [Suppression.studio_id == studio_id]
    if search.strip():
        where.append(sa.func.lower(Suppression.address).like(f"%{search.strip().lower()}%"))  # as jobs.find_jobs
    return paging.fetch(sa.select(sa.func.count()).select_from(Suppression).where(*where),
                        sa.select(Suppression).where(*where).order_by(Suppression.since.desc(), Suppression.id.desc()),
                        page, PAGE_SIZE)


def lift(studio_id: int, entry_id: int) -> Suppression | None:
    """Take a bounce off the list (the owner fixed the address, or the mailbox works again).
    Returns the entry lifted, or None: not this studio's, or not one the owner may lift."""
    entry = db.session.scalar(sa.select(Suppression).where(Suppression.id == entry_id,
                                                           Suppression.studio_id == studio_id))
    if entry is None or entry.reason not in LIFTABLE:
        return None
    db.session.delete(entry)
    db.session.commit()
    return entry


def erased_addresses(studio_id: int) -> set[str]:
    """Email addresses of people erased on request: their mail is not stored again."""
    return set(db.session.scalars(sa.select(Suppression.address).where(
        Suppression.studio_id == studio_id, Suppression.channel == "email", Suppression.reason == "erased")))


def suppressed(studio_id: int, reasons: tuple[str, ...] | None = None) -> set[tuple[str, str]]:
    """(channel, address) pairs not to contact (for these reasons only, if given), for checking
    many customers at once."""
    where = [Suppression.studio_id == studio_id] + ([Suppression.reason.in_(reasons)] if reasons else [])
    rows = db.session.execute(sa.select(Suppression.channel, Suppression.address).where(*where))
    return {(channel, address) for channel, address in rows}


def by_category(studio_id: int, among: dict[str, sa.Select | Collection[str]]) -> dict[str, set[tuple[str, str]]]:
    """For each category of a customer's messages (service, marketing), the (channel, address)
    pairs among these (per channel, the addresses, or a query of them) it does not go to: one
    query for checking many customers at once. Their entries only: a studio's list grows with
    every bounce and unsubscribe for years, and a job page or a worker's batch would read all of
    it each time."""
    rows = db.session.execute(
        sa.select(Suppression.channel, Suppression.address, Suppression.marketing_only).where(
            Suppression.studio_id == studio_id,
            sa.or_(sa.false(), *(sa.and_(Suppression.channel == channel, Suppression.address.in_(addresses))
                                 for channel, addresses in among.items())))).all()
    return {"service": {(channel, address) for channel, address, offers_only in rows if not offers_only},
            "marketing": {(channel, address) for channel, address, _ in rows}}


def customer_by_token(token: str) -> Customer | None:
    return db.session.scalar(sa.select(Customer).where(Customer.unsubscribe_token == token))


def unsubscribe(customer: Customer, now: datetime, offers_only: bool = False) -> None:
    """One click from an email: no more emails (or, ``offers_only``, no more marketing emails) to
    this address from this studio, and the customer's consent to them is withdrawn."""
    suppress(customer.studio_id, "email", customer.email, "unsubscribed", now, marketing_only=offers_only)
    for consent in customer.consents:
        if consent.channel == "email" and consent.withdrawn_at is None and (
                not offers_only or consent.purpose == "marketing"):
            consent.withdrawn_at = now
    # Offers stop on the person's every job, for good: lifting the entry later (subscribing again
    # to the job's emails, a bounce that was fixed) must not bring them back.
    same_address = sa.select(Customer.id).where(Customer.studio_id == customer.studio_id,
                                                Customer.email == customer.email)
    db.session.execute(sa.update(Consent).where(Consent.customer_id.in_(same_address), Consent.channel == "email",
                                                Consent.purpose == "marketing", Consent.withdrawn_at.is_(None))
                       .values(withdrawn_at=now))
    db.session.commit()


def unsubscribed(customer: Customer) -> Suppression | None:
    """The entry that stops emails (or offers) to the customer's address, if there is one."""
    return db.session.scalar(sa.select(Suppression).where(
        Suppression.studio_id == customer.studio_id, Suppression.channel == "email",
        Suppression.address == customer.email))


RESUBSCRIBE_VALID_FOR = timedelta(days=7)


def resubscribe_token(customer: Customer) -> str:
    """For the link in the email that confirms someone wants emails again: names the customer
    and the address, expires after RESUBSCRIBE_VALID_FOR."""
    return _resubscribe_signer().dumps({"customer": customer.id, "address": customer.email})


def resubscribe_token_is_valid(customer: Customer, token: str) -> bool:
    """Does ``token`` confirm this customer's address (and is it fresh)?"""
    try:
        data = _resubscribe_signer().loads(token, max_age=int(RESUBSCRIBE_VALID_FOR.total_seconds()))
    except BadSignature:  # an expired one too
        return False
    return data == {"customer": customer.id, "address": customer.email}


def _resubscribe_signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.current().secret_key, salt="shutterbell-resubscribe")


def resubscribe(customer: Customer, wording: str, now: datetime) -> bool:
    """The person confirmed from their own inbox that they want emails again: their unsubscribe
    is lifted and a new consent recorded with the words they saw, for what the unsubscribe had
    stopped (offers, or the job's messages). Only an unsubscribe is lifted this way (a bounce is
    the owner's to lift, an erasure nobody's). False if there was none."""
    entry = unsubscribed(customer)
    if entry is None or entry.reason != "unsubscribed" or customer.erased_at is not None:
        return False
    db.session.delete(entry)
    customer.consents.append(Consent(studio_id=customer.studio_id, channel="email", path="signup", wording=wording,
                                     purpose="marketing" if entry.marketing_only else "service", given_at=now))
    db.session.commit()
    return True


def erase(customer: Customer, now: datetime) -> None:
    """Erasure on request: the person's rows on every job of the studio (same email or number)
    lose their personal data; the address and number go on the suppression list. The rows stay,
    anonymous, so counts and order totals still add up."""
    erase_rows(customer, now)
    db.session.commit()


def erase_rows(customer: Customer, now: datetime) -> None:
    """``erase`` without the commit, for an erasure of more (a contact's) that must happen whole."""
    suppress(customer.studio_id, "email", customer.email, "erased", now)
    suppress(customer.studio_id, "sms", customer.phone, "erased", now)
    same_person = sa.or_(Customer.email == customer.email,
                         sa.and_(Customer.phone.is_not(None), Customer.phone == customer.phone))
    for row in db.session.scalars(sa.select(Customer).where(Customer.studio_id == customer.studio_id, same_person)):
        _anonymise(row, now)


def _anonymise(customer: Customer, now: datetime) -> None:
    alerts.forget(f"customer:{customer.id}")
    customer.first_name, customer.last_name = "Erased", ""
    customer.email = f"erased-{customer.id}@invalid"
    customer.phone = None
    customer.external_id = None
    customer.contact_id = None
    customer.unsubscribe_token = secrets.token_urlsafe(32)
    customer.erased_at = now
    for consent in customer.consents:
        consent.withdrawn_at = consent.withdrawn_at or now
    # Their messages keep their status (the counts) but lose what identifies or was said to them;
    # those not sent yet never will be.
    mine = Message.customer_id == customer.id
    db.session.execute(sa.update(Message).where(mine).values(recipient=customer.email, subject="", body=""))
    db.session.execute(sa.update(Message).where(mine, Message.status.in_(("scheduled", "queued", "awaiting_approval",
                                                                          "sending")))
                       .values(status="skipped", last_error=_("The customer's data was erased.")))
