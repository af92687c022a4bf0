"""Orders: recorded by staff (later reported by shops through the API). An order that is not
cancelled makes its customer a buyer."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from flask_babel import lazy_gettext as _l

from . import alerts, money
from .extensions import db
from .validation import Invalid
from .models import Customer, Job, Order, Studio

MAX_CENTS = 10_000_000_00  # ten million: a typo, not a school photo order


def parse_amount(text: str, locale: str) -> int:
    """'48,90' (de_DE) or '48.90' (en_US) -> 4890 cents. Raises Invalid."""
    amount = money.parse(text, locale)
    if amount is None:
        raise Invalid({"total": str(_l("Enter an amount like 48.90."))})
    cents = int((amount * 100).quantize(Decimal(1)))
    if not 0 <= cents <= MAX_CENTS:
        raise Invalid({"total": str(_l("Enter an amount between 0 and 10,000,000."))})
    return cents


def record(job: Job, customer: Customer, total_cents: int, placed_at: datetime, paid: bool,
           external_id: str | None = None) -> tuple[Order, bool]:
    """Record an order; (order, created). An external id seen before returns that order unchanged."""
    if customer.job_id != job.id:
        raise Invalid({"customer_id": str(_l("This customer is not signed up to this job."))})
    if external_id:
        existing = db.session.scalar(sa.select(Order).where(Order.studio_id == job.studio_id,
                                                            Order.external_id == external_id))
        if existing is not None:
            return existing, False
    order = Order(studio_id=job.studio_id, job_id=job.id, customer_id=customer.id, external_id=external_id,
                  total_cents=total_cents, placed_at=placed_at, paid_at=placed_at if paid else None)
    db.session.add(order)
    studio = db.session.get(Studio, job.studio_id)
    alerts.raise_alert(studio.id, "order", _l("%(name)s ordered for %(amount)s (%(job)s).", name=(
        f"{customer.first_name} {customer.last_name}".strip()), job=job.name,
        amount=money.shown(Decimal(total_cents) / 100, studio.currency, studio.locale)), f"/jobs/{job.id}#orders",
        about=f"customer:{customer.id}")
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()  # the same external id arrived twice at once: the other one is the order
        existing = by_external_id(job.studio_id, external_id) if external_id else None
        if existing is None:
            raise
        return existing, False
    return order, True


def mark_paid(order: Order, now: datetime) -> None:
    if order.paid_at is None and order.cancelled_at is None:
        order.paid_at = now
        db.session.commit()


def cancel(order: Order, now: datetime) -> None:
    if order.cancelled_at is None:
        order.cancelled_at = now
        db.session.commit()


def get_order(studio: Studio, job: Job, order_id: int) -> Order | None:
    return db.session.scalar(sa.select(Order).where(Order.id == order_id, Order.job_id == job.id,
                                                    Order.studio_id == studio.id))


def orders_of(job: Job) -> list[Order]:
    return db.session.scalars(sa.select(Order).where(Order.job_id == job.id).options(selectinload(Order.customer))
                              .order_by(Order.placed_at.desc())).all()


def buyer_ids(job: Job) -> set[int]:
    """Customers of the job with an order that is not cancelled (``buyers_among``, in SQL)."""
    return set(db.session.scalars(sa.select(Order.customer_id).where(
        Order.job_id == job.id, Order.cancelled_at.is_(None))))


def buyers_among(orders: list[Order]) -> set[int]:
    """The customers these orders make buyers (the cancelled ones do not)."""
    return {order.customer_id for order in orders if order.cancelled_at is None}


def by_external_id(studio_id: int, external_id: str) -> Order | None:
    return db.session.scalar(sa.select(Order).where(Order.studio_id == studio_id, Order.external_id == external_id))
