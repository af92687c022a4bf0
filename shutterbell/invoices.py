"""Invoices: a bill to a client, its lines, its payments, and its number.

A draft can change and be deleted; issuing numbers it from the studio's sequence (gap-free: the
counter and the invoice commit together, and an issued invoice is never deleted, only voided).
Tax is rounded per line, half up to the cent, and the totals are the sums of the rounded lines.
A payment never takes more than is open, even when two are recorded at once.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from babel.numbers import get_currency_name
from flask_babel import lazy_gettext as _l

from . import money, paging
from .extensions import db
from .models import Contact, Invoice, InvoiceCounter, InvoiceLine, Job, Payment, Studio, utcnow
from .validation import Invalid

MAX_LINES = 100
MAX_AMOUNT = Decimal("10000000")  # ten million: a typo, not a wedding
MAX_QUANTITY = Decimal("100000")
DEFAULT_TERM = timedelta(days=14)  # due two weeks after issue unless the studio says otherwise
PAGE_SIZE = 50
METHODS = {"bank_transfer": _l("Bank transfer"), "cash": _l("Cash"), "card": _l("Card"), "paypal": _l("PayPal"),
           "other": _l("Other")}
STATUS_LABELS = {"draft": _l("Draft"), "issued": _l("Issued"), "partly_paid": _l("Partly paid"), "paid": _l("Paid"),
                 "void": _l("Void")}


@dataclass
class LineInput:
    """A line as typed (text in the studio's locale) or as the API gives it (numbers)."""
    description: str
    quantity: object = "1"
    unit_price: object = ""
    tax_rate: object = "0"


@dataclass
class InvoiceInput:
    contact_id: int | None
    job_id: int | None = None
    currency: str = ""
    issued_on: date | None = None
    due_on: date | None = None
    notes: str = ""
    lines: list[LineInput] = field(default_factory=list)


@dataclass(frozen=True)
class Line:
    """A line read: its net amount and its tax, each rounded to the cent."""
    description: str
    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal

    @property
    def net(self) -> Decimal:
        return money.cents(self.quantity * self.unit_price)

    @property
    def tax(self) -> Decimal:
        return money.cents(self.net * self.tax_rate / 100)


@dataclass(frozen=True)
class Totals:
    lines: list[Line]
    net: Decimal
    taxes: list[tuple[Decimal, Decimal]]  # (rate, tax at that rate), rates in order
    total: Decimal


def totals(lines) -> Totals:
    """What the lines add up to: net, the tax per rate, and the total (each line rounded first)."""
    read = [line if isinstance(line, Line) else Line(line.description, line.quantity, line.unit_price, line.tax_rate)
            for line in lines]
    taxes: dict[Decimal, Decimal] = {}
    for line in read:
        if line.tax_rate:
            taxes[line.tax_rate] = taxes.get(line.tax_rate, Decimal("0.00")) + line.tax
    net = sum((line.net for line in read), Decimal("0.00"))
    return Totals(read, net, sorted(taxes.items()), net + sum(taxes.values(), Decimal("0.00")))


def problems(studio: Studio, data: InvoiceInput) -> tuple[dict, list[Line]]:
    """What is wrong with the input, by field (a line's: ("lines", index, field)), and its lines read."""
    found: dict = {}
    if data.contact_id is None or _contact(studio, data.contact_id) is None:
        found["contact_id"] = str(_l("Choose the client this invoice is for."))
    if data.job_id is not None and _job(studio, data.job_id) is None:
        found["job_id"] = str(_l("Choose one of your jobs, or none."))
    if not _known_currency(data.currency, studio.locale):
        found["currency"] = str(_l("Enter a currency code like EUR, CHF or PLN."))
    if data.issued_on and data.due_on and data.due_on < data.issued_on:
        found["due_on"] = str(_l("The due date cannot be before the issue date."))
    if len(data.notes) > 2000:
        found["notes"] = str(_l("At most 2,000 characters."))
    lines = []
    for index, line in enumerate(data.lines):
        read, wrong = _read_line(line, studio.locale)
        found.update({("lines", index, name): message for name, message in wrong.items()})
        lines.append(read)
    if not data.lines:
        found["lines"] = str(_l("Add at least one line."))
    elif len(data.lines) > MAX_LINES:
        found["lines"] = str(_l("At most %(num)d lines.", num=MAX_LINES))
    elif not any(isinstance(key, tuple) for key in found) and not 0 < totals(lines).total <= MAX_AMOUNT:
        found["lines"] = str(_l("The total must be more than 0 and at most 10,000,000."))
    return found, lines


def _read_line(line: LineInput, locale: str) -> tuple[Line | None, dict[str, str]]:
    wrong = {}
    description = " ".join((line.description or "").split())
    if not description:
        wrong["description"] = str(_l("Say what this line is for."))
    elif len(description) > 300:
        wrong["description"] = str(_l("At most 300 characters."))
    quantity = money.parse(line.quantity, locale)
    if quantity is None or not 0 < quantity <= MAX_QUANTITY or quantity != quantity.quantize(Decimal("0.001")):
        wrong["quantity"] = str(_l("Enter a quantity like 1 or 2.5."))
    price = money.parse(line.unit_price, locale)
    if price is None or abs(price) > MAX_AMOUNT or price != money.cents(price):
        wrong["unit_price"] = str(_l("Enter a price like 120.00 (a discount as -20.00)."))
    rate = money.parse(line.tax_rate, locale) if str(line.tax_rate).strip() else Decimal("0")
    if rate is None or not 0 <= rate < 100 or rate != rate.quantize(Decimal("0.01")):
        wrong["tax_rate"] = str(_l("Enter a tax rate in percent, like 19 or 7.7."))
    if wrong:
        return None, wrong
    return Line(description, quantity, money.cents(price), rate), {}


def _known_currency(code: str, locale: str) -> bool:
    return len(code) == 3 and code.isalpha() and code.isupper() and get_currency_name(code, locale=locale) != code


def _contact(studio: Studio, contact_id: int) -> Contact | None:
    return db.session.scalar(sa.select(Contact).where(Contact.id == contact_id, Contact.studio_id == studio.id))


def _job(studio: Studio, job_id: int) -> Job | None:
    return db.session.scalar(sa.select(Job).where(Job.id == job_id, Job.studio_id == studio.id))


def save(studio: Studio, invoice: Invoice | None, data: InvoiceInput) -> Invoice:
    """Make a draft or change one, lines and all, or nothing (Invalid)."""
    if invoice is not None and invoice.status != "draft":
        raise Invalid({"lines": str(_l("An issued invoice cannot change. Void it and write a new one."))})
    found, lines = problems(studio, data)
    if found:
        raise Invalid(found)
    if invoice is None:
        invoice = Invoice(studio_id=studio.id)
        db.session.add(invoice)
    invoice.contact_id, invoice.job_id, invoice.currency = data.contact_id, data.job_id, data.currency
    invoice.issued_on, invoice.due_on, invoice.notes = data.issued_on, data.due_on, data.notes.strip()
    invoice.lines = _stored(lines)
    invoice.total = totals(lines).total
    db.session.flush()
    if not _still_draft(invoice, total=invoice.total):
        db.session.rollback()
        raise Invalid({"lines": str(_l("An issued invoice cannot change. Void it and write a new one."))})
    db.session.commit()
    return invoice


def _stored(lines: list[Line]) -> list[InvoiceLine]:
    return [InvoiceLine(position=n, description=line.description, quantity=line.quantity, unit_price=line.unit_price,
                        tax_rate=line.tax_rate) for n, line in enumerate(lines)]


def issue(invoice: Invoice, today: date) -> None:
    """Number the draft and make it binding: issued today unless dated, due after the usual term
    unless a due date was set."""
    if invoice.status != "draft":
        raise Invalid({"number": str(_l("This invoice was issued already."))})
    issued_on = invoice.issued_on or today
    due_on = invoice.due_on or issued_on + DEFAULT_TERM
    if due_on < issued_on:
        raise Invalid({"due_on": str(_l("The due date cannot be before the issue date."))})
    number = _next_number(invoice.studio_id)
    if not _still_draft(invoice, number=number, issued_on=issued_on, due_on=due_on, issued_at=utcnow()):  # issued meanwhile (a double click)
        db.session.rollback()  # (the number goes back to the counter: no gap)
        raise Invalid({"number": str(_l("This invoice was issued already."))})
    db.session.commit()
    db.session.refresh(invoice)


def _still_draft(invoice: Invoice, **values) -> bool:
    """Write ``values`` only while the invoice is a draft: two requests that both saw the draft
    (two tabs, a double click) cannot both issue it, or change it once issued."""
    table = Invoice.__table__
    return db.session.execute(table.update().where(table.c.id == invoice.id, table.c.number.is_(None))
                              .values(**values)).rowcount == 1


def record_issued(studio: Studio, data: InvoiceInput, external_id: str, number: int | None,
                  today: date) -> tuple[Invoice, bool]:
    """An invoice another system issued (the API): (invoice, made now). Its external id makes a
    retry return the first one. It keeps the number it was given (refused when taken; later
    numbers of the studio's own go on after it), or takes the studio's next one."""
    existing = by_external_id(studio.id, external_id)
    if existing is not None:
        return existing, False
    found, lines = problems(studio, data)
    if number is not None and not 1 <= number <= 2_000_000_000:
        found["number"] = str(_l("An invoice number is a whole number from 1."))
    if found:
        raise Invalid(found)
    invoice = Invoice(studio_id=studio.id, external_id=external_id, contact_id=data.contact_id, job_id=data.job_id,
                      currency=data.currency, notes=data.notes.strip(), issued_on=data.issued_on or today,
                      issued_at=utcnow(), total=totals(lines).total)
    invoice.due_on = data.due_on or invoice.issued_on + DEFAULT_TERM
    if invoice.due_on < invoice.issued_on:
        raise Invalid({"due_on": str(_l("The due date cannot be before the issue date."))})
    invoice.lines = _stored(lines)
    db.session.add(invoice)
    try:
        invoice.number = number if number is not None else _next_number(studio.id)
        if number is not None:
            _numbered_up_to(studio.id, number)
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()
        existing = by_external_id(studio.id, external_id)  # the same call arrived twice at once
        if existing is not None:
            return existing, False
        raise Invalid({"number": str(_l("Invoice number %(number)s is taken.", number=number))}) from None
    return invoice, True


def of_payment_or_invoice(payment_id: int | None, invoice_id: int | None) -> tuple[Invoice | None, Payment | None]:
    """The invoice an invoice message is about, and the payment for a "payment received" one."""
    if payment_id is not None:
        payment = db.session.get(Payment, payment_id)
        return (payment.invoice if payment is not None else None), payment
    return db.session.get(Invoice, invoice_id), None


def profile_id_of(invoice: Invoice, studio: Studio) -> int | None:
    """The profile whose notifications an invoice's client and the studio get: its job's, or
    without a job the studio's default profile (``materialise._invoices_of`` says it in SQL)."""
    return invoice.job.profile_id if invoice.job_id is not None else studio.default_profile_id


def by_external_id(studio_id: int, external_id: str) -> Invoice | None:
    return db.session.scalar(sa.select(Invoice).where(Invoice.studio_id == studio_id,
                                                      Invoice.external_id == external_id))


def _numbered_up_to(studio_id: int, number: int) -> None:
    """The studio's own numbers go on after one given from outside (never handing it out again)."""
    counter = InvoiceCounter.__table__
    if db.session.execute(counter.update().where(counter.c.studio_id == studio_id, counter.c.last_number < number)
                          .values(last_number=number)).rowcount == 0 and db.session.get(InvoiceCounter, studio_id) is None:
        db.session.add(InvoiceCounter(studio_id=studio_id, last_number=number))


def _next_number(studio_id: int) -> int:
    """The studio's next number, taken in the caller's transaction (the row stays locked until it
    commits: a second issue waits, and a rolled-back one gives its number back)."""
    db.session.flush()  # (a problem of the caller's pending rows must not pass for the counter's)
    counter = InvoiceCounter.__table__
    raise_it = counter.update().where(counter.c.studio_id == studio_id).values(
        last_number=counter.c.last_number + 1).returning(counter.c.last_number)
    number = db.session.execute(raise_it).scalar()
    if number is None:  # the studio's first invoice
        try:
            with db.session.begin_nested():
                db.session.execute(counter.insert().values(studio_id=studio_id, last_number=1))
            return 1
        except sa.exc.IntegrityError:  # another first invoice at the same moment made the row
            number = db.session.execute(raise_it).scalar()
    return number


def delete_draft(invoice: Invoice) -> None:
    if invoice.status != "draft":
        raise Invalid({"number": str(_l("An issued invoice is never deleted: void it instead."))})
    db.session.delete(invoice)
    db.session.commit()


def void(invoice: Invoice, now: datetime) -> None:
    """Cancel an issued invoice; its number stays taken. Not once money came in for it."""
    if invoice.status in ("draft", "void"):
        raise Invalid({"number": str(_l("Only an issued invoice can be voided."))})
    table = Invoice.__table__
    voided = db.session.execute(table.update().where(  # not if a payment arrived meanwhile
        table.c.id == invoice.id, table.c.voided_at.is_(None), table.c.paid == 0).values(voided_at=now)).rowcount
    if not voided:
        db.session.rollback()
        raise Invalid({"number": str(_l("Payments were recorded for this invoice: it cannot be voided."))})
    db.session.commit()
    db.session.refresh(invoice)


NOT_PAYABLE = _l("Payments are recorded for issued invoices that are not paid yet.")


def payable(invoice: Invoice) -> bool:
    return invoice.status in ("issued", "partly_paid")


@dataclass
class PaymentInput:
    amount: object
    paid_on: date | None
    method: str
    external_id: str | None = None  # the reporting system's id: a retry records nothing twice


def record_payment(invoice: Invoice, data: PaymentInput, now: datetime) -> Payment:
    """Money received for an issued invoice. More than is open is refused, also when two
    payments arrive at once: the invoice's paid amount rises only where it stays within the total."""
    studio = db.session.get(Studio, invoice.studio_id)
    if data.external_id:
        known = db.session.scalar(sa.select(Payment).where(Payment.studio_id == invoice.studio_id,
                                                           Payment.external_id == data.external_id))
        if known is not None:
            if known.invoice_id != invoice.id:
                raise Invalid({"external_id": str(_l("This payment was recorded for another invoice."))})
            return known
    if not payable(invoice):
        raise Invalid({"amount": str(NOT_PAYABLE)})
    amount = money.parse(data.amount, studio.locale)
    wrong = {}
    if amount is None or not 0 < amount <= MAX_AMOUNT or amount != money.cents(amount):
        wrong["amount"] = str(_l("Enter an amount like 120.00."))
    if data.paid_on is None:
        wrong["paid_on"] = str(_l("Enter the date the money arrived."))
    if data.method not in METHODS:
        wrong["method"] = str(_l("Choose how it was paid."))
    if wrong:
        raise Invalid(wrong)
    table = Invoice.__table__
    raised = db.session.execute(table.update().where(  # (voided or paid meanwhile: nothing is open)
        table.c.id == invoice.id, table.c.voided_at.is_(None), table.c.number.is_not(None),
        table.c.paid + amount <= table.c.total).values(paid=table.c.paid + amount)).rowcount
    db.session.refresh(invoice)
    if not raised:
        db.session.rollback()
        raise Invalid({"amount": str(_l("Only %(open)s is open on this invoice.",
                                         open=money.shown(invoice.open, invoice.currency, studio.locale)))})
    payment = Payment(studio_id=invoice.studio_id, invoice_id=invoice.id, amount=amount, paid_on=data.paid_on,
                      method=data.method, external_id=data.external_id, created_at=now)
    db.session.add(payment)
    if invoice.open == 0:
        invoice.paid_at = now
    try:
        db.session.commit()
    except sa.exc.IntegrityError:  # the same reported payment twice at once: the other one counts
        db.session.rollback()
        known = db.session.scalar(sa.select(Payment).where(Payment.studio_id == invoice.studio_id,
                                                           Payment.external_id == data.external_id))
        if data.external_id is None or known is None:
            raise
        return known
    return payment


def get(studio: Studio, invoice_id: int) -> Invoice | None:
    return db.session.scalar(sa.select(Invoice).where(Invoice.id == invoice_id, Invoice.studio_id == studio.id))


def find(studio: Studio, status: str = "", page: int = 1) -> paging.Page:
    """The studio's invoices, newest first (drafts, which have no number yet, on top); by status."""
    where = [Invoice.studio_id == studio.id, *_status_is(status)]
    count = sa.select(sa.func.count()).select_from(Invoice).where(*where)
    rows = (sa.select(Invoice).where(*where).options(selectinload(Invoice.contact), selectinload(Invoice.job))
            .order_by(Invoice.number.is_not(None), Invoice.number.desc(), Invoice.id.desc()))
    return paging.fetch(count, rows, page, PAGE_SIZE)


def _status_is(status: str) -> list:
    live = Invoice.voided_at.is_(None)
    return {
        "draft": [Invoice.number.is_(None)],
        "open": [live, Invoice.number.is_not(None), Invoice.paid_at.is_(None)],
        "paid": [live, Invoice.paid_at.is_not(None)],
        "void": [Invoice.voided_at.is_not(None)],
    }.get(status, [])


def of_contact(contact: Contact) -> list[Invoice]:
    return list(db.session.scalars(sa.select(Invoice).where(Invoice.studio_id == contact.studio_id,
                                                            Invoice.contact_id == contact.id)
                                   .order_by(Invoice.id.desc())))


def day_of(studio: Studio, moment: datetime) -> date:
    """The date in the studio's time zone: an invoice issued at 00:30 in Berlin is dated that day."""
    return moment.astimezone(ZoneInfo(studio.time_zone)).date()


def overdue(invoice: Invoice, today: date) -> bool:
    return payable(invoice) and invoice.due_on is not None and invoice.due_on < today
