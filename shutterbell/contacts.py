"""Contacts: the people and businesses a studio corresponds with, one record per person.

A job's customer links to the client contact of their address, made the first time the address
arrives (a sign-up, an import, the API, staff) and never twice: ``ContactAddress`` holds each
address once per studio, so finding the contact of an address is one indexed lookup. Every
function here is scoped to one studio.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from . import alerts, composer, inbox, mailsettings, paging, suppression, team
from .addresses import normalise_email, normalise_phone
from .extensions import db
from .models import Contact, ContactAddress, Customer, Invoice, Job, Message, Studio
from .validation import Invalid

PAGE_SIZE = 50
MAX_ADDRESSES = 5
MAX_NOTES = 5000
KIND_LABELS = {"client": _l("Client"), "vendor": _l("Vendor"), "staff": _l("Staff")}


@dataclass
class ContactInput:
    name: str
    kind: str = "client"
    emails: list[str] = field(default_factory=list)
    phone: str = ""
    company: str = ""
    notes: str = ""


def problems(studio: Studio, data: ContactInput, contact: Contact | None = None) -> dict[str, str]:
    """Field name -> message; ``emails`` reports the first address that is wrong or taken."""
    found: dict[str, str] = {}
    if not data.name.strip():
        found["name"] = str(_l("Give the contact a name."))
    elif len(data.name.strip()) > 200 or composer.has_control_characters(data.name):
        found["name"] = str(_l("Keep the name on one line, at most 200 characters."))
    if data.kind not in Contact.KINDS:
        found["kind"] = str(_l("Choose client, vendor or staff."))
    if len(data.company) > 200 or composer.has_control_characters(data.company):
        found["company"] = str(_l("Keep the company on one line, at most 200 characters."))
    if len(data.notes) > MAX_NOTES:
        found["notes"] = str(_l("Notes can be at most %(num)d characters.", num=MAX_NOTES))
    try:
        normalise_phone(data.phone, studio.country)
    except ValueError:
        found["phone"] = str(_l("Enter a phone number, e.g. 0170 1234567 or +49 170 1234567."))
    given = [address for address in (a.strip() for a in data.emails) if address]
    own = mailsettings.account_of(studio).from_address.lower()
    if len(given) > MAX_ADDRESSES:
        found["emails"] = str(_l("At most %(num)d addresses.", num=MAX_ADDRESSES))
    for address in given:
        try:
            email = normalise_email(address)
        except ValueError:
            found.setdefault("emails", str(_l("“%(address)s” is not an email address.", address=address)))
            continue
        if email == own:  # every mail the studio sends would be theirs
            found.setdefault("emails", str(_l("%(address)s is your studio’s own address.", address=email)))
            continue
        owner = of_address(studio.id, email)
        if owner is not None and (contact is None or owner.id != contact.id):
            found.setdefault("emails", str(_l("%(address)s belongs to %(name)s already. Merge the two contacts "
                                              "instead.", address=email, name=owner.name)))
    return found


def save(studio: Studio, contact: Contact | None, data: ContactInput) -> Contact:
    """Create or change a contact; raises ``Invalid`` with the problems."""
    found = problems(studio, data, contact)
    if found:
        raise Invalid(found)
    if contact is None:
        contact = Contact(studio_id=studio.id)
        db.session.add(contact)
    contact.name, contact.kind = data.name.strip(), data.kind
    contact.company, contact.notes = data.company.strip(), data.notes.strip()
    contact.phone = normalise_phone(data.phone, studio.country)
    wanted = list(dict.fromkeys(normalise_email(a) for a in data.emails if a.strip()))
    for address in [a for a in contact.addresses if a.address not in wanted]:
        contact.addresses.remove(address)
    db.session.flush()  # a removed address may come back in another place of the list
    have = {a.address for a in contact.addresses}
    contact.addresses.extend(ContactAddress(studio_id=studio.id, address=a) for a in wanted if a not in have)
    db.session.flush()
    _link_customers(contact)
    db.session.commit()
    return contact


def of_address(studio_id: int, email: str) -> Contact | None:
    return db.session.scalar(sa.select(Contact).join(ContactAddress).where(
        ContactAddress.studio_id == studio_id, ContactAddress.address == email))


def first_of_addresses(studio_id: int, addresses: list[str]) -> Contact | None:
    """The contact of the first of these addresses that has one, in one query."""
    if not addresses:
        return None
    found = {a.address: a.contact for a in db.session.scalars(sa.select(ContactAddress).where(
        ContactAddress.studio_id == studio_id, ContactAddress.address.in_(addresses)))}
    return next((found[a] for a in addresses if a in found), None)


def for_address(studio_id: int, email: str, name: str, phone: str | None = None) -> Contact:
    """The contact of an address, made as a client the first time it arrives (no commit). Two
    sign-ups of one new address at once: the second one's insert fails on the unique address
    and its caller tries again (``customers.register``), then finds this contact."""
    found = of_address(studio_id, email)
    if found is not None:
        return found
    contact = Contact(studio_id=studio_id, kind="client", name=(name.strip() or email)[:200], phone=phone,
                      company="", notes="")
    contact.addresses.append(ContactAddress(studio_id=studio_id, address=email))
    db.session.add(contact)
    db.session.flush()
    return contact


def _link_customers(contact: Contact) -> None:
    """Customers of the contact's addresses that are on no contact yet (made before it) join it."""
    addresses = [a.address for a in contact.addresses]
    if addresses:
        db.session.execute(sa.update(Customer).where(
            Customer.studio_id == contact.studio_id, Customer.email.in_(addresses), Customer.contact_id.is_(None),
            Customer.erased_at.is_(None)).values(contact_id=contact.id))


def get(studio: Studio, contact_id: int) -> Contact | None:
    return db.session.scalar(sa.select(Contact).where(Contact.id == contact_id, Contact.studio_id == studio.id)
                             .options(selectinload(Contact.addresses)))


def find(studio: Studio, query: str = "", kind: str = "", page: int = 1) -> paging.Page:
    """Contacts whose name, company or an address contains ``query`` (any case), by name."""
    where = [Contact.studio_id == studio.id]
    if kind in Contact.KINDS:
        where.append(Contact.kind == kind)
    if query.strip():
        pattern = f"%{query.strip().lower()}%"
        where.append(sa.or_(sa.func.lower(Contact.name).like(pattern), sa.func.lower(Contact.company).like(pattern),
                            sa.exists().where(ContactAddress.contact_id == Contact.id,
                                              ContactAddress.address.like(pattern))))
    return paging.fetch(sa.select(sa.func.count(Contact.id)).where(*where),
                        sa.select(Contact).where(*where).options(selectinload(Contact.addresses))
                        .order_by(sa.func.lower(Contact.name), Contact.id), page, PAGE_SIZE)


def clients(studio: Studio, also: int | None = None, limit: int = 1000) -> list[Contact]:
    """The studio's clients by name, for a choice (an invoice's client), and the one ``also``
    chosen already, whatever its kind."""
    found = list(db.session.scalars(sa.select(Contact).where(Contact.studio_id == studio.id, Contact.kind == "client")
                                    .order_by(sa.func.lower(Contact.name), Contact.id).limit(limit)))
    chosen = db.session.scalar(sa.select(Contact).where(Contact.studio_id == studio.id, Contact.id == also)) if also else None
    return found + [chosen] if chosen is not None and chosen not in found else found


def jobs_of(contact: Contact) -> list[tuple[Customer, Job]]:
    """The jobs the contact signed up to, newest first, with their customer record on each."""
    return db.session.execute(sa.select(Customer, Job).join(Job, Customer.job_id == Job.id).where(
        Customer.contact_id == contact.id, Customer.studio_id == contact.studio_id)
        .order_by(Customer.registered_at.desc())).tuples().all()


def messages_to(contact: Contact, limit: int = 100) -> list[Message]:
    """What the studio's outbox sent or will send to the contact's addresses and number, newest
    first (mail synced from the inbox joins it with the inbox sync)."""
    to = [(channel, address) for channel, address in
          [("email", a.address) for a in contact.addresses] + [("sms", contact.phone)] if address]
    if not to:
        return []
    return db.session.scalars(sa.select(Message).where(
        Message.studio_id == contact.studio_id,
        sa.or_(*(sa.and_(Message.channel == channel, Message.recipient == address) for channel, address in to)))
        .order_by(Message.due_at.desc(), Message.id.desc()).limit(limit)).all()


def merge(keep: Contact, other: Contact) -> None:
    """Two records of one person become ``keep``: it takes the other's addresses and customers,
    and the phone, company and notes it lacks; the other record goes."""
    if keep.studio_id != other.studio_id or keep.id == other.id:
        raise ValueError("only two contacts of one studio merge")
    for address in list(other.addresses):
        other.addresses.remove(address)
        db.session.flush()
        keep.addresses.append(ContactAddress(studio_id=keep.studio_id, address=address.address))
    db.session.execute(sa.update(Customer).where(Customer.contact_id == other.id).values(contact_id=keep.id))
    keep.phone = keep.phone or other.phone
    keep.company = keep.company or other.company
    keep.notes = "\n\n".join(part for part in (keep.notes, other.notes) if part)[:MAX_NOTES]
    team.forget_contact(other, into=keep)
    db.session.delete(other)
    db.session.commit()


def erase(contact: Contact, now: datetime) -> None:
    """Erasure on request (GDPR): the contact, its addresses and the synced mail with them go;
    every customer record of the person is anonymised and their addresses and number are
    suppressed (``suppression.erase``), so nothing is sent to them again and counts still add up.
    A client with invoices keeps only the name and company the invoices are addressed to. All of it in one transaction: an erasure that fails halfway leaves nothing half erased."""
    studio_id = contact.studio_id
    addresses = [a.address for a in contact.addresses]
    for customer in db.session.scalars(sa.select(Customer).where(
            Customer.studio_id == studio_id, Customer.erased_at.is_(None),
            sa.or_(Customer.contact_id == contact.id, Customer.email.in_(addresses)))).all():
        if customer.erased_at is None:  # (erasing one row erases the person's others too)
            suppression.erase_rows(customer, now)
    for address in addresses:
        suppression.suppress(studio_id, "email", address, "erased", now)
    suppression.suppress(studio_id, "sms", contact.phone, "erased", now)
    inbox.forget(studio_id, addresses)
    db.session.execute(sa.update(Customer).where(Customer.contact_id == contact.id).values(contact_id=None))
    team.forget_contact(contact)
    _forget_messages_to(contact, addresses)
    if db.session.scalar(sa.select(Invoice.id).where(Invoice.contact_id == contact.id).limit(1)) is None:
        db.session.delete(contact)
    else:  # invoices, and whom they were for, are kept for years by law (GDPR art. 17(3)(b)); nothing else
        contact.addresses.clear()
        contact.phone, contact.notes = None, ""
    db.session.commit()


def _forget_messages_to(contact: Contact, addresses: list[str]) -> None:
    """As for a customer's (``suppression.erase_rows``): the messages to the contact (an invoice's,
    a vendor's, a booking's, one written by hand, an automatic answer) keep their status but lose
    what identifies or was said to them; those not sent yet never will be. Its alerts go."""
    alerts.forget(f"contact:{contact.id}")
    mine = sa.or_(Message.contact_id == contact.id,
                  sa.and_(Message.studio_id == contact.studio_id, Message.recipient.in_(addresses)))
    db.session.execute(sa.update(Message).where(mine).values(recipient=f"erased-contact-{contact.id}@invalid",
                                                             subject="", body=""))
    db.session.execute(sa.update(Message).where(mine, Message.status.in_(Message.IN_FLIGHT + ("awaiting_approval",)))
                       .values(status="skipped", last_error=_("The person's data was erased.")))


def erase_person(customer: Customer, now: datetime) -> None:
    """Erasure asked for from one of the person's sign-ups: their contact too, where they have one."""
    contact = db.session.get(Contact, customer.contact_id) if customer.contact_id else None
    if contact is not None:
        erase(contact, now)
    else:
        suppression.erase(customer, now)
