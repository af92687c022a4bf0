"""Replies stop a sequence: when a customer writes to the studio (found by the inbox sync, by their
address, after they signed up, on a job not archived), the messages of notifications marked "stop
when the customer replies" that fall due from then on are skipped with that reason; staff can undo
it per customer. A customer on two jobs who writes stops the rest of both: the address says who
wrote, not about which job.
"""
from __future__ import annotations

import sqlalchemy as sa

from .extensions import db
from .models import Customer, Job


def note(studio_id: int, written: list, now) -> None:
    """The latest mail of each sender in a synced batch marks their customers (no commit). The
    time is the mail's Date, never later than now: a sender's clock set to 2099 stops nothing."""
    latest: dict[str, object] = {}
    for mail in written:
        at = min(mail.sent_at, now)
        if mail.from_address not in latest or at > latest[mail.from_address]:
            latest[mail.from_address] = at
    if not latest:
        return
    table = Customer.__table__
    active = sa.select(Job.id).where(Job.studio_id == studio_id, Job.status != "archived")
    db.session.execute(
        table.update().where(table.c.studio_id == studio_id, table.c.email == sa.bindparam("address"),
                             table.c.erased_at.is_(None), table.c.registered_at <= sa.bindparam("at"),
                             table.c.job_id.in_(active),
                             sa.or_(table.c.replied_at.is_(None), table.c.replied_at < sa.bindparam("at")))
        .values(replied_at=sa.bindparam("at")),
        [{"address": address, "at": at} for address, at in latest.items()])


def stopped(notification, customer: Customer, due_at) -> bool:
    """Does this customer's reply stop this notification's message due then? (The worker skips
    it; the timeline says so beforehand.)"""
    return bool(notification.stop_on_reply) and customer.replied_at is not None and due_at >= customer.replied_at


def undo(customer: Customer) -> None:
    """Their coming messages go out again (those skipped meanwhile stay skipped)."""
    customer.replied_at = None
    db.session.commit()
