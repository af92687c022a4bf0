"""The trigger catalogue: the one place that says what can start a notification, who it may
reach and what stops it.

Forms offer these triggers and validation checks against them. Three readers decide from the same
entries what is due: the job's timeline (``scheduling``), the scheduler pass (``materialise``, in
SQL) and the worker's check at send time (``outbox.studio_batch``); a test holds them against each
other for every trigger. No code outside this module branches on a trigger's key. Adding a
trigger means adding one entry to ``CATALOGUE`` (see CONTRIBUTING.md).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

import sqlalchemy as sa

from flask_babel import lazy_gettext as _l
from flask_babel import gettext, ngettext

MAX_DAYS = 365


class Audience(str, enum.Enum):
    """Who a notification reaches: a group of the job's customers, the client an invoice is for,
    the job's team (staff members, vendors) or the studio itself (an internal alert, to its first
    owner's address). A trigger reaches one of these families: customers, an invoice's people,
    the team."""

    ALL = "all"
    POTENTIAL_BUYERS = "potential_buyers"
    BUYERS = "buyers"
    CLIENT = "client"
    STUDIO = "studio"
    STAFF = "staff"
    VENDORS = "vendors"

    @property
    def label(self) -> str:
        return AUDIENCE_LABELS[self]

    @property
    def is_customers(self) -> bool:
        return self in CUSTOMER_GROUPS


AUDIENCE_LABELS = {
    Audience.ALL: _l("All customers"),
    Audience.POTENTIAL_BUYERS: _l("Potential buyers"),
    Audience.BUYERS: _l("Buyers"),
    Audience.CLIENT: _l("The client"),  # the invoice's, or the job's
    Audience.STUDIO: _l("The studio (an internal alert)"),
    Audience.STAFF: _l("Staff on the job"),
    Audience.VENDORS: _l("Vendors on the job"),
}
CUSTOMER_GROUPS = (Audience.ALL, Audience.POTENTIAL_BUYERS, Audience.BUYERS)
TEAM = (Audience.STAFF, Audience.VENDORS)


class Category(str, enum.Enum):
    """Service mail is what the person signed up for or booked (the photos are online, an order, a
    shoot, an invoice) and goes with the consent to the job's messages; marketing (a push to order,
    a feedback request, a voucher offer) needs the customer's consent to offers, and unsubscribing
    from it never stops service mail. Only a job's customers get marketing."""

    SERVICE = "service"
    MARKETING = "marketing"

    @property
    def label(self) -> str:
        return CATEGORY_LABELS[self]


CATEGORY_LABELS = {
    Category.SERVICE: _l("Service (what they signed up for)"),
    Category.MARKETING: _l("Marketing (an offer)"),
}


class Occurrence(str, enum.Enum):
    """What makes one occurrence of a trigger, and so one message per customer.

    The scheduler's idempotency key is (notification, recipient, job, occurrence): a customer gets a
    registration message once, an order message once per order, a voucher message once per
    voucher, and a date message once per value of that date (moving the archive date is a new
    occurrence; the same date never sends twice). An invoice's client (or the studio) gets each
    of an invoice's messages once, and a payment's once per payment; a team member the message of
    their assignment once.
    """

    REGISTRATION = "registration"
    ORDER = "order"
    VOUCHER = "voucher"
    DATE_VALUE = "date_value"
    INVOICE = "invoice"
    PAYMENT = "payment"
    ASSIGNMENT = "assignment"

    @property
    def is_invoices(self) -> bool:
        """About an invoice (its client, its studio), not about a job's customers."""
        return self in (Occurrence.INVOICE, Occurrence.PAYMENT)


@dataclass(frozen=True)
class Stop:
    """What ends a trigger's message for one occurrence: the occurrence's subject (the order, the
    voucher) has ``attribute`` set. The timeline leaves the message out, the pass does not make it
    and the worker skips one already made, saying ``reason``."""

    attribute: str
    reason: str

    def applies(self, subject) -> bool:
        return getattr(subject, self.attribute) is not None

    def sql(self, model) -> sa.ColumnElement[bool]:
        return getattr(model, self.attribute).is_not(None)


@dataclass(frozen=True)
class Trigger:
    key: str
    label: str
    keys_off: str  # the event name, or the job/order/voucher attribute holding the date
    is_date: bool  # keyed off a calendar date (sent at a send time) rather than an event
    takes_days: bool
    direction: int  # -1: days before, +1: days after, 0: at the moment itself
    audiences: tuple[Audience, ...]
    occurrence: Occurrence
    context: tuple[str, ...] = ()  # extra placeholder objects this trigger provides (see templating)
    phrase: str = ""  # what follows "N days" in a summary, for triggers that take days
    stops: tuple[Stop, ...] = ()
    # How a customer hears of it ("What you will receive" on the sign-up page): either words of
    # its own, or the event that "N days before/after" and "On the day" name.
    for_customers: str = ""
    customer_event: str = ""
    # News that stays true ("the photos are online"): a customer who confirms after the moment
    # gets it right after confirming, once, and reads this on the sign-up page. Other dates that
    # passed before someone signed up are not theirs ("7 days left" would be wrong by then).
    # Only for an event at its moment.
    for_late_customers: str = ""
    marketing: bool = False  # a sales push by default (a profile may say otherwise per notification)

    def summary(self, days: int | None) -> str:
        """'7 days before the job is archived'; the label for triggers without days."""
        if not self.takes_days or days is None:
            return str(self.label)
        return ngettext("%(num)d day %(phrase)s", "%(num)d days %(phrase)s", days, phrase=self.phrase)

    @property
    def catches_up(self) -> bool:
        return bool(self.for_late_customers)

    @property
    def has_send_time(self) -> bool:
        """Date triggers and delayed events go out at a time of day; instant events at once."""
        return self.is_date or self.takes_days

    def allows(self, audience: Audience | str) -> bool:
        return Audience(audience) in self.audiences

    @property
    def category(self) -> Category:
        """What a new notification of this trigger is, until the owner says otherwise."""
        return Category.MARKETING if self.marketing else Category.SERVICE

    @property
    def categories(self) -> tuple[Category, ...]:
        """Marketing only to a job's customers: they are the ones who can consent to offers."""
        return tuple(Category) if self.reaches_customers else (Category.SERVICE,)

    @property
    def reaches_customers(self) -> bool:
        """A job's customers (who signed up, consented and may unsubscribe), rather than an
        invoice's client, the studio or the job's team."""
        return set(self.audiences) <= set(CUSTOMER_GROUPS)

    @property
    def reaches_job_people(self) -> bool:
        """The job's client, its team or the studio: neither its customers nor an invoice's people."""
        return not self.reaches_customers and not self.occurrence.is_invoices

    def customer_summary(self, days: int | None, passed: bool = False) -> str:
        """'3 days before the photos leave the gallery', 'A reminder if an order stays unpaid':
        what a customer reads, never the editor's wording. ``passed``: the moment has passed and
        the trigger catches up."""
        if passed and self.catches_up:
            return str(self.for_late_customers)
        if self.for_customers:
            return str(self.for_customers)
        if not days:
            return gettext("On the day %(event)s", event=self.customer_event)
        if self.direction < 0:
            return ngettext("%(num)d day before %(event)s", "%(num)d days before %(event)s", days,
                            event=self.customer_event)
        return ngettext("%(num)d day after %(event)s", "%(num)d days after %(event)s", days, event=self.customer_event)

    def stopped(self, subject) -> str:
        """Why the message of this occurrence no longer goes ("" if it still does)."""
        return next((str(stop.reason) for stop in self.stops if stop.applies(subject)), "")

    def going(self, model) -> list[sa.ColumnElement[bool]]:
        """``stopped`` as SQL conditions on the subject's model, for the pass."""
        return [~stop.sql(model) for stop in self.stops]


_EVERYONE = CUSTOMER_GROUPS
_CANCELLED = Stop("cancelled_at", _l("The order was cancelled."))
_PAID = Stop("paid_at", _l("The order was paid."))
_INVOICE_PAID = Stop("paid_at", _l("The invoice was paid."))
_VOIDED = Stop("voided_at", _l("The invoice was voided."))
_CLIENT_OR_STUDIO = (Audience.CLIENT, Audience.STUDIO)

CATALOGUE: dict[str, Trigger] = {
    t.key: t
    for t in (
        Trigger("customer_registered", _l("After a customer registered"), "customer.registered_at",
                False, False, 0, (Audience.POTENTIAL_BUYERS,), Occurrence.REGISTRATION,
                for_customers=_l("Right after you confirm your sign-up")),
        Trigger("job_published", _l("When the photos are online"), "job.published_at",
                False, False, 0, _EVERYONE, Occurrence.DATE_VALUE,
                for_customers=_l("As soon as the photos are online"),
                for_late_customers=_l("The link to your photos, right after you confirm")),
        Trigger("days_after_published", _l("Days after the photos went online"), "job.published_at",
                True, True, +1, _EVERYONE, Occurrence.DATE_VALUE,
                phrase=_l("after the photos went online"), customer_event=_l("the photos go online"), marketing=True),
        Trigger("days_before_archived", _l("Days before the job is archived"), "job.archives_at",
                True, True, -1, _EVERYONE, Occurrence.DATE_VALUE,
                phrase=_l("before the job is archived"), customer_event=_l("the photos leave the gallery"),
                marketing=True),
        Trigger("days_before_order_deadline", _l("Days before the order deadline"), "job.order_deadline",
                True, True, -1, _EVERYONE, Occurrence.DATE_VALUE,
                phrase=_l("before the order deadline"), customer_event=_l("the order deadline ends"), marketing=True),
        Trigger("order_placed", _l("After an order was placed"), "order.placed_at",
                False, False, 0, (Audience.BUYERS,), Occurrence.ORDER, ("order",), stops=(_CANCELLED,),
                for_customers=_l("A confirmation when you order")),
        Trigger("days_after_order", _l("Days after an order was placed"), "order.placed_at",
                False, True, +1, (Audience.BUYERS,), Occurrence.ORDER, ("order",),
                phrase=_l("after an order was placed"), stops=(_CANCELLED,),
                for_customers=_l("A follow-up after you order"), marketing=True),
        Trigger("days_after_order_unpaid", _l("Days after an order that is still unpaid"), "order.placed_at",
                False, True, +1, (Audience.BUYERS,), Occurrence.ORDER, ("order",),
                phrase=_l("after an order that is still unpaid"), stops=(_CANCELLED, _PAID),
                for_customers=_l("A reminder if an order stays unpaid")),
        Trigger("days_before_voucher_expires", _l("Days before a voucher expires"), "voucher.expires_at",
                True, True, -1, (Audience.ALL, Audience.POTENTIAL_BUYERS), Occurrence.VOUCHER, ("voucher",),
                phrase=_l("before a voucher expires"), customer_event=_l("a voucher expires"), marketing=True),
        Trigger("days_before_shoot", _l("Days before the shoot (session reminder)"), "job.shoot_date",
                True, True, -1, (Audience.ALL,), Occurrence.DATE_VALUE,
                phrase=_l("before the shoot"), for_customers=_l("A reminder before your shoot")),
        Trigger("days_after_shoot", _l("Days after the shoot (feedback request)"), "job.shoot_date",
                True, True, +1, _EVERYONE, Occurrence.DATE_VALUE,
                phrase=_l("after the shoot"), for_customers=_l("A request for your feedback after the shoot"),
                marketing=True),
        Trigger("invoice_issued", _l("When an invoice is issued"), "invoice.issued_at",
                False, False, 0, _CLIENT_OR_STUDIO, Occurrence.INVOICE, ("client", "invoice"), stops=(_VOIDED,)),
        Trigger("days_before_invoice_due", _l("Days before an invoice is due"), "invoice.due_on",
                True, True, -1, _CLIENT_OR_STUDIO, Occurrence.INVOICE, ("client", "invoice"),
                phrase=_l("before an invoice is due"), stops=(_INVOICE_PAID, _VOIDED)),
        Trigger("days_after_invoice_due_unpaid", _l("Days after an invoice was due and is still unpaid"),
                "invoice.due_on", True, True, +1, _CLIENT_OR_STUDIO, Occurrence.INVOICE, ("client", "invoice"),
                phrase=_l("after an invoice was due and is still unpaid"), stops=(_INVOICE_PAID, _VOIDED)),
        Trigger("payment_received", _l("When a payment is received"), "payment.created_at",
                False, False, 0, _CLIENT_OR_STUDIO, Occurrence.PAYMENT, ("client", "invoice", "payment")),
        Trigger("booking_confirmed", _l("When a job is booked (a client is set)"), "job.booked_at",
                False, False, 0, (Audience.CLIENT, Audience.STUDIO), Occurrence.DATE_VALUE, ("client", "job")),
        Trigger("job_editing", _l("When a job moves to editing (project update)"), "job.edited_at",
                False, False, 0, (Audience.CLIENT, Audience.STUDIO), Occurrence.DATE_VALUE, ("client", "job")),
        Trigger("job_delivered", _l("When a job is delivered (project update)"), "job.delivered_at",
                False, False, 0, (Audience.CLIENT, Audience.STUDIO), Occurrence.DATE_VALUE, ("client", "job")),
        Trigger("team_assigned", _l("When someone is assigned to a job"), "assignment.assigned_at",
                False, False, 0, TEAM, Occurrence.ASSIGNMENT, ("client", "job", "member")),
        Trigger("days_before_shoot_team", _l("Days before the shoot (to the client or the team)"), "job.shoot_date",
                True, True, -1, (Audience.CLIENT, *TEAM), Occurrence.DATE_VALUE, ("client", "job", "member"),
                phrase=_l("before the shoot")),
    )
}


class UnknownTrigger(LookupError):
    pass


def get(key: str) -> Trigger:
    try:
        return CATALOGUE[key]
    except KeyError:
        raise UnknownTrigger(key) from None

