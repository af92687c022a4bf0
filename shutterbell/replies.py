"""Replies stop a sequence: when a customer writes to the studio (found by the inbox sync, after
they signed up, on a job not archived), the messages of notifications marked "stop when the
customer replies" that fall due from then on are skipped with that reason; staff can undo it per
customer. A reply is known two ways:

- by its thread headers: a mail whose In-Reply-To or References name a message the studio sent a
  customer is that customer's reply, whoever wrote it (a partner answering from their own
  address), and it stops that customer of that one job;
- by its sender's address, any of the contact's (a customer's sign-ups link to their contact):
  a customer on two jobs who writes stops the rest of both, since the address says who wrote, not
  about which job.
"""
from __future__ import annotations

import sqlalchemy as sa

from .extensions import db
from .models import ContactAddress, Customer, Job, Message


def note(studio_id: int, written: list, now) -> None:
    """The latest mail of each sender, and the latest answer to each of the studio's messages, in
    a synced batch mark their customers (no commit). The time is the mail's Date, never later
    than now: a sender's clock set to 2099 stops nothing."""
    by_address: dict[str, object] = {}
    by_answered: dict[str, object] = {}
    for mail in written:
        at = min(mail.sent_at, now)
        _keep_latest(by_address, mail.from_address, at)
        for message_id in mail.answers:
            _keep_latest(by_answered, message_id, at)
    by_customer: dict[int, object] = {}
    if by_address:  # (one indexed lookup: most who write are no customer)
        for address, customer_id in db.session.execute(sa.select(ContactAddress.address, Customer.id).join(
                Customer, Customer.contact_id == ContactAddress.contact_id).where(
                ContactAddress.studio_id == studio_id, ContactAddress.address.in_(by_address))):
            _keep_latest(by_customer, customer_id, by_address[address])
    if by_answered:
        for message_id, customer_id in db.session.execute(sa.select(Message.message_id, Message.customer_id).where(
                Message.message_id.in_(by_answered), Message.studio_id == studio_id,
                Message.customer_id.is_not(None))):
            _keep_latest(by_customer, customer_id, by_answered[message_id])
    _mark(studio_id, by_customer)


def _keep_latest(latest: dict, who, at) -> None:
    if who not in latest or at > latest[who]:
        latest[who] = at


def _mark(studio_id: int, latest: dict[int, object]) -> None:
    """Each customer (id -> when they wrote) replied then, where that is later than a reply known
    before, they had signed up by then and the job is not archived."""
    if not latest:
        return
    table = Customer.__table__
    active = sa.select(Job.id).where(Job.studio_id == studio_id, Job.status != "archived")
    db.session.execute(
        table.update().where(table.c.studio_id == studio_id, table.c.id == sa.bindparam("who"),
                             table.c.erased_at.is_(None), table.c.registered_at <= sa.bindparam("at"),
                             table.c.job_id.in_(active),
                             sa.or_(table.c.replied_at.is_(None), table.c.replied_at < sa.bindparam("at")))
        .values(replied_at=sa.bindparam("at")),
        [{"who": who, "at": at} for who, at in latest.items()])


def stopped(notification, customer: Customer, due_at) -> bool:
    """Does this customer's reply stop this notification's message due then? (The worker skips
    it; the timeline says so beforehand.)"""
    return bool(notification.stop_on_reply) and customer.replied_at is not None and due_at >= customer.replied_at


def undo(customer: Customer) -> None:
    """Their coming messages go out again (those skipped meanwhile stay skipped)."""
    customer.replied_at = None
    db.session.commit()
