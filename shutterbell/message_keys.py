"""The outbox's unique key of a message (``Message.key``), formatted and parsed here only.

A profile's message is ``{notification}:{recipient}:{job}:{occurrence}``: the scheduler makes it
once, whatever runs twice. The recipient is a customer's id, ``c{contact}`` (an invoice's client,
a vendor), ``u{user}`` (a staff member) or ``studio`` (an internal alert); the job is 0 for an
invoice without one. The occurrence is what
makes one message per recipient (``triggers.Occurrence``): ``registration:{customer}``,
``order:{order}``, ``voucher:{voucher}``, ``date:{job attribute}:{ISO date}`` (moving the date is a
new occurrence), ``invoice:{invoice}``, ``payment:{payment}`` or ``assignment:{assignment}``. Messages of no
notification have keys of their own: ``confirm:{customer}`` (the double opt-in email;
``confirm:{customer}:{n}`` when sent again), ``resubscribe:{customer}:{n}`` (asking someone who
unsubscribed to confirm they want emails again), ``oneoff:{batch}:{customer}`` (a one-off
message), ``personal:{token}`` (an email staff wrote to a contact by hand) and
``autoreply:{mail}`` (the automatic answer to a synced mail from someone new).
"""
from __future__ import annotations

import functools
import operator
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from .triggers import Occurrence

_PREFIX = {Occurrence.REGISTRATION: "registration", Occurrence.ORDER: "order", Occurrence.VOUCHER: "voucher",
           Occurrence.DATE_VALUE: "date", Occurrence.INVOICE: "invoice", Occurrence.PAYMENT: "payment",
           Occurrence.ASSIGNMENT: "assignment"}
_KIND = {prefix: kind for kind, prefix in _PREFIX.items()}
_CONFIRMATION = "confirm:"
_RESUBSCRIBE = "resubscribe:"
_PERSONAL = "personal:"
_AUTOREPLY = "autoreply:"


_CONTACT = "c"
_USER = "u"
STUDIO = "studio"


@dataclass(frozen=True)
class MessageKey:
    notification_id: int
    recipient: str  # from ``customer()``, ``contact()`` or STUDIO
    job_id: int  # 0: none
    occurrence: str  # from ``occurrence()``

    def __str__(self) -> str:
        return f"{self.notification_id}:{self.recipient}:{self.job_id}:{self.occurrence}"

    @classmethod
    def parse(cls, key: str) -> MessageKey | None:
        """The key's parts; None for a message of no notification (a confirmation, a one-off)."""
        notification, recipient, job, occurrence = (key.split(":", 3) + ["", "", ""])[:4]
        known = recipient.isdigit() or recipient == STUDIO or (
            recipient[:1] in (_CONTACT, _USER) and recipient[1:].isdigit())
        if not (notification.isdigit() and known and job.isdigit()) or not occurrence:
            return None
        return cls(int(notification), recipient, int(job), occurrence)

    @property
    def customer_id(self) -> int | None:
        return int(self.recipient) if self.recipient.isdigit() else None

    @property
    def contact_id(self) -> int | None:
        return int(self.recipient[1:]) if self.recipient.startswith(_CONTACT) else None

    @property
    def user_id(self) -> int | None:
        return int(self.recipient[1:]) if self.recipient.startswith(_USER) else None

    @property
    def kind(self) -> Occurrence:
        return _KIND[self.occurrence.partition(":")[0]]

    @property
    def invoice_subject(self) -> tuple[int | None, int | None]:
        """(payment id, invoice id) of an invoice message's occurrence, for ``invoices.of_payment_or_invoice``."""
        if self.kind is Occurrence.PAYMENT:
            return self.subject_id, None
        return None, self.subject_id if self.kind is Occurrence.INVOICE else None

    @property
    def date_attribute(self) -> str | None:
        """What a date occurrence is keyed off ("job.booked_at"; None for other kinds)."""
        return self.occurrence.split(":")[1] if self.kind is Occurrence.DATE_VALUE else None

    @property
    def subject_id(self) -> int | None:
        """The id of the customer, order or voucher the occurrence is about (None for a date)."""
        ident = self.occurrence.partition(":")[2]
        return int(ident) if self.kind is not Occurrence.DATE_VALUE else None


def customer(customer_id: int) -> str:
    """A customer as a key's recipient."""
    return str(customer_id)


def contact(contact_id: int) -> str:
    """A contact (an invoice's client) as a key's recipient."""
    return f"{_CONTACT}{contact_id}"


def contact_sql(contact_id: sa.ColumnElement) -> tuple:
    """``contact()`` for the database to build, as parts for ``key_sql``."""
    return _CONTACT, contact_id


def user(user_id: int) -> str:
    """A staff member (a user) as a key's recipient."""
    return f"{_USER}{user_id}"


def user_sql(user_id: sa.ColumnElement) -> tuple:
    return _USER, user_id


def occurrence(kind: Occurrence, subject: int | str) -> str:
    """``occurrence(Occurrence.ORDER, 17)``: "order:17"; a date's subject is ``date_subject()``."""
    return f"{_PREFIX[kind]}:{subject}"


def date_subject(attribute: str, value: date) -> str:
    """A date occurrence's subject: the job attribute and its value ("job.archives_at:2026-04-02")."""
    return f"{attribute}:{value.isoformat()}"


def occurrence_sql(kind: Occurrence, subject_id: sa.ColumnElement) -> tuple:
    """``occurrence()`` for the database to build, as parts for ``key_sql``."""
    return f"{_PREFIX[kind]}:", subject_id


def key_sql(notification_id: int, recipient: tuple | str | sa.ColumnElement, job_id: sa.ColumnElement | int,
            occurrence: tuple | str | sa.ColumnElement) -> sa.ColumnElement[str]:
    """``str(MessageKey(...))`` built by the database, for the pass's INSERT … SELECT. The
    recipient is a customer's id column, ``contact_sql()`` or STUDIO. What is known in Python (a
    job id, a date's occurrence) joins the constant text here: each ``||`` left to the database
    runs on every one of the pass's rows."""
    return _joined(f"{notification_id}:", *_parts(recipient), ":", job_id, ":", *_parts(occurrence))


def _parts(value: tuple | str | sa.ColumnElement) -> tuple:
    return value if isinstance(value, tuple) else (value,)


def _joined(*parts) -> sa.ColumnElement[str]:
    folded: list = []
    for part in parts:
        part = str(part) if isinstance(part, int) else part
        if isinstance(part, str) and folded and isinstance(folded[-1], str):
            folded[-1] += part
        else:
            folded.append(part)
    text = [sa.literal(part) if isinstance(part, str)
            else part if isinstance(part.type, sa.String) else sa.cast(part, sa.String) for part in folded]
    return functools.reduce(operator.add, text)


def confirmation(customer_id: int, sent_before: int = 0) -> str:
    """The double opt-in email's key; one sent again (``sent_before`` of them went already) has a
    key of its own."""
    return f"{_CONFIRMATION}{customer_id}" + (f":{sent_before + 1}" if sent_before else "")


def confirmations_of(key: sa.ColumnElement, customer_id: int) -> sa.ColumnElement[bool]:
    """The keys of one customer's confirmation emails, as an SQL condition on ``key``."""
    return sa.or_(key == confirmation(customer_id), key.like(f"{confirmation(customer_id)}:%"))


def is_confirmation(key: str) -> bool:
    return key.startswith(_CONFIRMATION)


def resubscription(customer_id: int, sent_before: int) -> str:
    """The email that asks someone who unsubscribed to confirm they want emails again."""
    return f"{_RESUBSCRIBE}{customer_id}:{sent_before + 1}"


def resubscriptions_of(key: sa.ColumnElement, customer_id: int) -> sa.ColumnElement[bool]:
    return key.like(f"{_RESUBSCRIBE}{customer_id}:%")


def is_resubscription(key: str) -> bool:
    return key.startswith(_RESUBSCRIBE)


def one_off(batch: str, customer_id: int) -> str:
    return f"oneoff:{batch}:{customer_id}"


def personal(token: str) -> str:
    return f"{_PERSONAL}{token}"


def is_personal(key: str) -> bool:
    return key.startswith(_PERSONAL)


def autoreply(item_id: int) -> str:
    return f"{_AUTOREPLY}{item_id}"


def autoreplies(key: sa.ColumnElement) -> sa.ColumnElement[bool]:
    return key.like(f"{_AUTOREPLY}%")


def is_autoreply(key: str) -> bool:
    return key.startswith(_AUTOREPLY)


def reaches_no_customer(key: str) -> bool:
    """A profile's message to someone other than a customer: an invoice's client, the studio, a
    team member."""
    parsed = MessageKey.parse(key)
    return parsed is not None and parsed.customer_id is None
