"""Customers of a job: every intake path (sign-up page, staff, later CSV and API) goes through
``register``, so the duplicate and consent rules are the same everywhere."""
from __future__ import annotations

import re
import secrets
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from email_validator import EmailNotValidError
from flask_babel import lazy_gettext as _l

from . import alerts, contacts, paging
from .addresses import normalise_email, normalise_phone
from .extensions import db
from .validation import Invalid
from .models import Consent, Customer, Job, Message, Order, Studio

MAX_NAME = 60


@dataclass
class CustomerInput:
    first_name: str
    last_name: str
    email: str
    phone: str = ""
    email_consent: bool = False
    sms_consent: bool = False
    marketing_consent: bool = False  # offers too, by the channels consented to


class ExternalIdConflict(ValueError):
    """The email is on the job already, under another external id."""


class CustomerHasHistory(ValueError):
    """A customer with orders or messages is erased, not removed: orders must keep adding up and
    the outbox keeps what was sent to whom."""


def region_of(studio: Studio) -> str:
    """The country a phone number without +country code is read in: the studio's own."""
    return studio.country


# Names land in emails the studio sends, the public sign-up page's confirmation above all: a
# stranger must not be able to put a link, or an address a mail program turns into one, there.
_NOT_IN_NAMES = re.compile(r"[<>/\\:@{}\[\]|=?&#%]|[\x00-\x1f\x7f]|www\.|[^\W_]\.[^\W\d_]{2,}", re.IGNORECASE)


def looks_like_a_name(value: str) -> bool:
    """Letters of any script, spaces, hyphens, apostrophes, initials ("J. R."), even emoji; never
    anything a mail program shows as a link ("example.com", "www.", "https:")."""
    return not _NOT_IN_NAMES.search(value)


def customer_problems(data: CustomerInput, region: str) -> dict[str, str]:
    return check(data, region)[0]


def check(data: CustomerInput, region: str) -> tuple[dict[str, str], str | None, str | None]:
    """(problems, normalised email, E.164 phone): validating once is most of an import's cost."""
    problems: dict = {}
    email = phone = None
    if not data.first_name.strip():
        problems["first_name"] = _l("Enter a first name.")
    for name in ("first_name", "last_name"):
        value = getattr(data, name).strip()
        if len(value) > MAX_NAME:
            problems[name] = _l("At most %(num)d characters.", num=MAX_NAME)
        elif not looks_like_a_name(value):
            problems[name] = _l("Enter just the name: no web or email addresses, and none of < > / : @.")
    try:
        email = normalise_email(data.email)
    except EmailNotValidError:
        problems["email"] = _l("Enter a valid email address, like anna@example.com.")
    try:
        phone = normalise_phone(data.phone, region)
    except ValueError:
        problems["phone"] = _l("Enter a valid mobile number, with the country code if it is not local (+49 …).")
    else:
        if data.sms_consent and phone is None:
            problems["phone"] = _l("Enter a mobile number to get text messages.")
    if data.marketing_consent and not (data.email_consent or data.sms_consent):
        problems["marketing_consent"] = _l("Offers come by email or text message: tick one of them too.")
    return {name: str(message) for name, message in problems.items()}, email, phone


def register(job: Job, data: CustomerInput, path: str, wording: dict[str, str], now: datetime,
             external_id: str | None = None) -> tuple[Customer, bool]:
    """Sign a person up to a job; returns (customer, created).

    Signing up again with the same email changes nothing that is stored and returns the existing
    customer: otherwise anyone could redirect another customer's texts. An external id seen before
    in the studio (a shop retrying its call) does the same. Public sign-ups wait for their
    confirmation when the studio uses double opt-in; the other paths are confirmed at once.
    """
    try:
        customer, created = add(job, data, path, wording, now, external_id)
        db.session.commit()
    except sa.exc.IntegrityError:
        # The same person arrived twice at once (a shop retrying a call, or a new address signing
        # up to two jobs): the other request made them, or their contact; try once more, which
        # finds what it made.
        db.session.rollback()
        customer, created = add(job, data, path, wording, now, external_id)
        db.session.commit()
    return customer, created


def add(job: Job, data: CustomerInput, path: str, wording: dict[str, str], now: datetime,
        external_id: str | None = None) -> tuple[Customer, bool]:
    """``register`` without the commit, for imports that commit in batches."""
    studio = db.session.get(Studio, job.studio_id)  # from the identity map after the first row
    problems, email, phone = check(data, region_of(studio))
    if problems:
        raise Invalid(problems)
    existing = db.session.scalar(sa.select(Customer).where(Customer.job_id == job.id, Customer.email == email))
    if external_id and existing is None:
        existing = by_external_id(job.studio_id, external_id)
    if existing is not None:
        if external_id and existing.job_id == job.id and existing.external_id != external_id:
            if existing.external_id is not None:
                raise ExternalIdConflict(external_id)
            existing.external_id = external_id  # a shop now reports someone staff added first
        return existing, False
    name = f"{data.first_name.strip()} {data.last_name.strip()}".strip()
    customer = Customer(
        studio_id=job.studio_id, job_id=job.id, email=email,
        first_name=data.first_name.strip(), last_name=data.last_name.strip(),
        phone=phone, registered_at=now, contact_id=contacts.for_address(job.studio_id, email, name, phone).id,
        confirmed_at=None if path == "signup" and studio.double_opt_in else now,
        unsubscribe_token=secrets.token_urlsafe(32), external_id=external_id or None,
    )
    if customer.confirmed_at is None:
        customer.confirm_token = secrets.token_urlsafe(32)
    db.session.add(customer)
    for channel, given in (("email", data.email_consent), ("sms", data.sms_consent)):
        for purpose in _purposes(given, data.marketing_consent):
            customer.consents.append(Consent(studio_id=job.studio_id, channel=channel, path=path, purpose=purpose,
                                             wording=wording[channel if purpose == "service" else "marketing"],
                                             given_at=now))
    db.session.flush()  # the next row's duplicate check must see this one
    if path == "signup" and customer.confirmed_at is not None:  # no double opt-in: signed up now
        _signed_up(customer, job)
    return customer, True


def _signed_up(customer: Customer, job: Job) -> None:
    alerts.raise_alert(customer.studio_id, "sign_up", _l("%(name)s signed up to %(job)s.", name=(
        f"{customer.first_name} {customer.last_name}".strip()), job=job.name), f"/jobs/{job.id}#customers",
        about=f"customer:{customer.id}")


def update(customer: Customer, data: CustomerInput, wording: dict[str, str], now: datetime) -> None:
    """Staff correct a customer. Consent given here is recorded as given by staff; consent
    unticked here is withdrawn (with the time), never deleted."""
    if customer.erased_at is not None:
        raise Invalid({"first_name": str(_l("This person was erased; their data cannot come back."))})
    studio = db.session.get(Studio, customer.studio_id)
    problems = customer_problems(data, region_of(studio))
    email = normalise_email(data.email) if "email" not in problems else None
    if email and email != customer.email and db.session.scalar(sa.select(Customer.id).where(
            Customer.job_id == customer.job_id, Customer.email == email)):
        problems["email"] = str(_l("Another customer of this job has this email address."))
    if problems:
        raise Invalid(problems)
    customer.first_name, customer.last_name = data.first_name.strip(), data.last_name.strip()
    if email != customer.email:  # a corrected typo: the person of the new address
        customer.contact_id = contacts.for_address(customer.studio_id, email, f"{customer.first_name} "
                                                   f"{customer.last_name}".strip()).id
    customer.email, customer.phone = email, normalise_phone(data.phone, region_of(studio))
    # Offers ticked before stay as they are on each channel: an unsubscribe from offers by email
    # is the person's, not undone by a save of the form.
    offers_before = any(c.purpose == "marketing" and c.withdrawn_at is None for c in customer.consents)
    for channel, wanted in (("email", data.email_consent), ("sms", data.sms_consent)):
        purposes = _purposes(wanted, data.marketing_consent)
        channel_before = customer.has_consent(channel)
        for purpose in purposes:
            if purpose == "marketing" and offers_before and channel_before:
                continue
            if not customer.has_consent(channel, purpose):
                customer.consents.append(Consent(
                    studio_id=customer.studio_id, channel=channel, path="staff", purpose=purpose,
                    wording=wording[channel if purpose == "service" else "marketing"], given_at=now))
        for consent in customer.consents:
            if consent.channel == channel and consent.purpose not in purposes and consent.withdrawn_at is None:
                consent.withdrawn_at = now
    db.session.commit()


def _purposes(channel_given: bool, offers_given: bool) -> tuple[str, ...]:
    """What one channel's tick (and the one for offers) consents to: offers only with the channel."""
    if not channel_given:
        return ()
    return ("service", "marketing") if offers_given else ("service",)


def remove(customer: Customer) -> None:
    """Take someone added by mistake off the job. Someone with orders or messages is erased instead.

    The history test is part of each DELETE: on SQLite the statement waits for a scheduler pass
    that is making this customer's message and then sees it. (Message has no foreign keys; SQLite
    would give a removed customer's id to the next one, and a message made meanwhile with it.)"""
    customer_id = customer.id
    no_history = sa.and_(~sa.exists().where(Order.customer_id == customer_id),
                         ~sa.exists().where(Message.customer_id == customer_id))
    db.session.expunge(customer)
    db.session.execute(sa.delete(Consent).where(Consent.customer_id == customer_id, no_history))
    removed = db.session.execute(sa.delete(Customer).where(Customer.id == customer_id, no_history)).rowcount
    if not removed:
        db.session.rollback()
        raise CustomerHasHistory(customer_id)
    db.session.commit()


def get_customer(studio: Studio, job: Job, customer_id: int) -> Customer | None:
    return db.session.scalar(sa.select(Customer).where(
        Customer.id == customer_id, Customer.job_id == job.id, Customer.studio_id == studio.id))


PAGE_SIZE = 50


def page_of(job: Job, search: str = "", page: int = 1) -> paging.Page:
    """A page of the job's customers by name, filtered by a part of the name or address."""
    where = [Customer.job_id == job.id]
    if search.strip():
        part = f"%{search.strip().lower()}%"
        where.append(sa.or_(sa.func.lower(Customer.first_name + " " + Customer.last_name).like(part),
                            Customer.email.like(part)))  # the address is stored lower-case
    return paging.fetch(sa.select(sa.func.count()).select_from(Customer).where(*where),
                        sa.select(Customer).where(*where).order_by(Customer.sort_name, Customer.id),
                        page, PAGE_SIZE)


# By customer id, the (channel, purpose) pairs agreed to; a customer who agreed to nothing has an empty set.
Agreed = defaultdict[int, set[tuple[str, str]]]


def agreements(customer_ids: sa.Select | Collection[int]) -> Agreed:
    """By customer id, the (channel, purpose) pairs each of these customers agreed to and has not
    withdrawn. Rows, not objects: a page's fifty customers' consents as objects were half of
    reading the page, a job's 2,000 took 0.9 s."""
    agreed: Agreed = defaultdict(set)
    for customer_id, channel, purpose in db.session.execute(
            sa.select(Consent.customer_id, Consent.channel, Consent.purpose).where(
                Consent.customer_id.in_(customer_ids), Consent.withdrawn_at.is_(None))):
        agreed[customer_id].add((channel, purpose))
    return agreed


def count_of(job: Job) -> int:
    return db.session.scalar(sa.select(sa.func.count()).where(Customer.job_id == job.id))


def customers_of(job: Job) -> list[Customer]:
    return db.session.scalars(sa.select(Customer).where(Customer.job_id == job.id)
                              .options(selectinload(Customer.consents))
                              .order_by(Customer.sort_name, Customer.id)).all()


def job_by_code(code: str) -> Job | None:
    """The job a public sign-up link or typed access code points to (not archived)."""
    return db.session.scalar(sa.select(Job).where(Job.access_code == code.strip().upper(), Job.status != "archived"))


def consent_wording(studio_name: str, job_name: str) -> dict[str, str]:
    """The exact sentences a person agrees to, stored with each consent."""
    return {
        "email": str(_l("Email me about the photos of %(job)s from %(studio)s: when they are online, my orders "
                        "and what I need to know about them. I can stop these emails at any time.",
                        job=job_name, studio=studio_name)),
        "sms": str(_l("Text me about the photos of %(job)s from %(studio)s. I can reply STOP at any time.",
                      job=job_name, studio=studio_name)),
        "marketing": str(_l("Also send me offers from %(studio)s by the ways ticked above: reminders to order, "
                            "vouchers and a request for feedback. I can unsubscribe from offers at any time.",
                            studio=studio_name)),
    }


def by_confirm_token(token: str) -> Customer | None:
    return db.session.scalar(sa.select(Customer).where(Customer.confirm_token == token, Customer.erased_at.is_(None)))


def confirm(customer: Customer, now: datetime) -> bool:
    """The person followed the double opt-in link: from now on they get the job's messages (what
    their registration starts counts from now). Returns False if it was confirmed before."""
    if customer.confirmed_at is not None:
        return False
    customer.confirmed_at = now
    _signed_up(customer, db.session.get(Job, customer.job_id))
    db.session.commit()
    return True


def by_external_id(studio_id: int, external_id: str) -> Customer | None:
    return db.session.scalar(sa.select(Customer).where(Customer.studio_id == studio_id,
                                                       Customer.external_id == external_id))
