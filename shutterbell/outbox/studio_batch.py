"""What a worker (or the pass, for messages awaiting approval) reads once per studio, whether a
made message is still wanted at send time, and its text, written once."""
from __future__ import annotations

import functools

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm.attributes import set_committed_value

from .. import composer, invoices, mailsettings, message_keys, replies, suppression, templating, triggers
from ..extensions import db
from ..i18n import speaking
from ..message_keys import MessageKey
from ..models import Assignment, Consent, Invoice, Job, Message, Notification, Order, Payment, Studio, Voucher
from ..settings import Policy
from ..triggers import Occurrence


def customer_removed() -> str:
    """Why a message is not sent to a customer removed while a pass made it (see Message)."""
    return _("The customer was removed from the job.")


def _in_its_language(method):
    """A ``StudioBatch`` method whose words are in its studio's language, whoever calls it."""
    @functools.wraps(method)
    def in_language(batch: StudioBatch, *args):
        with speaking(batch.studio):
            return method(batch, *args)
    return in_language


class StudioBatch:
    """What a worker needs for one studio's messages, read once: the account, the batch's customers
    and their recipients' suppression entries (``read_customers``), each job's placeholder values."""

    def __init__(self, studio: Studio, policy: Policy):
        self.studio, self.policy = studio, policy
        self.account = mailsettings.account_of(studio)
        self.suppressed: dict[str, set[tuple[str, str]]] = {}  # the batch's recipients' entries (read_customers)
        self._job_parts: dict[int, dict] = {}
        self._written: list[dict] = []  # plain values: a rollback meanwhile expires the objects
        self.buyers: set[int] = set()
        self.orders: dict[int, Order] = {}
        self.consents: set[tuple[int, str, str]] = set()

    def read_customers(self, messages: list[Message]) -> None:
        """The batch's customers' consents and orders and its recipients' suppression entries, a
        query each: who agreed to which channel and purpose, who is a buyer now, each order's
        state, and who must not get what (not the studio's whole list, which only grows)."""
        recipients: dict[str, set[str]] = {}
        for message in messages:
            recipients.setdefault(message.channel, set()).add(message.recipient)
        self.suppressed = suppression.by_category(self.studio.id, among=recipients)
        customer_ids = {m.customer_id for m in messages}
        self.consents = set(db.session.execute(
            sa.select(Consent.customer_id, Consent.channel, Consent.purpose)
            .where(Consent.customer_id.in_(customer_ids), Consent.withdrawn_at.is_(None))).tuples())
        for order in db.session.scalars(sa.select(Order).where(Order.customer_id.in_(customer_ids))):
            self.orders[order.id] = order
            if order.cancelled_at is None:
                self.buyers.add(order.customer_id)

    @functools.cached_property
    def stops_service(self) -> set[tuple[str, str]]:
        """Addresses even service mail (an invoice) does not go to (read only for a batch with such mail)."""
        return suppression.suppressed(self.studio.id, suppression.STOPS_SERVICE)

    @functools.cached_property
    def erased(self) -> set[str]:
        """Addresses of people erased on request (read only for a batch with personal mail)."""
        return suppression.erased_addresses(self.studio.id)

    @_in_its_language
    def why_not(self, message: Message) -> str:
        """Is a made message still wanted at send time? A customer who unsubscribed or was erased,
        a job whose profile changed or was archived: skipped with the reason (in the studio's
        language: its outbox shows it), never sent."""
        customer = message.customer
        if message_keys.is_personal(message.key) or message_keys.is_autoreply(message.key):  # an answer, no customer
            return _("The person's data was erased.") if message.recipient in self.erased else ""
        key = MessageKey.parse(message.key)
        if key is not None and key.customer_id is None:
            return self._service_mail_stopped(message, key)
        if message.notification is not None and message.category != message.notification.category:
            message.category = message.notification.category  # the owner changed it: consent and link follow
        if customer is None:
            return customer_removed()
        if customer.erased_at is not None:
            return _("The customer's data was erased.")
        if message_keys.is_resubscription(message.key):  # asked for by the unsubscribed person themself
            return "" if (message.channel, message.recipient) in self.suppressed["marketing"] else _(
                "The address gets emails again already.")
        if (message.channel, message.recipient) in self.suppressed["service"]:
            return _("The recipient unsubscribed (on the studio's suppression list).")
        if (message.channel, message.recipient) in self.suppressed[message.category]:
            return _("The recipient unsubscribed from offers (marketing); service mail still goes to them.")
        if message.is_confirmation:  # asks for consent, so it needs none; pointless once confirmed
            return _("The sign-up was confirmed already.") if customer.confirmed_at else ""
        if (customer.id, message.channel, message.category) not in self.consents:
            return (_("The customer has not agreed to offers (marketing) on this channel.")
                    if message.category == "marketing" else _("The customer withdrew consent to this channel."))
        notification: Notification | None = message.notification
        job: Job | None = message.job
        if notification is not None and job is not None:
            if job.status == "archived":
                return _("The job was archived.")
            if notification.retired_at is not None or job.profile_id != notification.profile_id:
                return _("The job's communication profile changed; this message is no longer part of it.")
            if not notification.enabled:
                return _("The notification was switched off.")
            if replies.stopped(notification, customer, message.due_at):
                return _("The customer replied: this notification stops for them (undo on their page).")
            return self._still_fits(message, notification)
        return ""

    def _service_mail_stopped(self, message: Message, key: MessageKey) -> str:
        """A message to an invoice's or a job's client, the studio or a team member: service mail,
        stopped by what the scheduler pass checks (the address, the profile, the team) and by the trigger's
        stops (paid, void) as they are now: a reminder made before a payment was recorded is skipped."""
        notification, subject = message.notification, None
        trigger = triggers.get(notification.trigger)
        if not _fits(key, triggers.Audience(notification.audience)) or key.kind is not trigger.occurrence or (
                key.date_attribute not in (None, trigger.keys_off)):
            return _("The notification changed (whom it reaches, or its trigger); this message is no longer part of it.")
        if (message.channel, message.recipient) in self.stops_service:
            return _("The address is on the suppression list (a bounce, an erasure, a STOP).")
        if key.kind.is_invoices:
            subject = self._invoice_of(key)[0]
            profile_id = invoices.profile_id_of(subject, self.studio)
            changed = _("The invoice's communication profile changed; this message is no longer part of it.")
        else:
            audience = triggers.Audience(notification.audience)
            if audience is triggers.Audience.CLIENT and message.job.client_id != key.contact_id:
                return _("The job's client changed.")
            if audience in triggers.TEAM and self._assignment_of(key) is None:
                return _("They are no longer on the job's team.")
            if message.job.status == "archived":
                return _("The job was archived.")
            profile_id = message.job.profile_id
            changed = _("The job's communication profile changed; this message is no longer part of it.")
        if notification.retired_at is not None or profile_id != notification.profile_id:
            return changed
        if not notification.enabled:
            return _("The notification was switched off.")
        return trigger.stopped(subject) if subject is not None else ""

    def _assignment_of(self, key: MessageKey) -> Assignment | None:
        """The team member's place on the job, as it is now (None: taken off the team)."""
        if key.kind is Occurrence.ASSIGNMENT:
            return db.session.get(Assignment, key.subject_id)
        person = (Assignment.user_id == key.user_id) if key.user_id is not None else (
            Assignment.contact_id == key.contact_id)
        return db.session.scalar(sa.select(Assignment).where(Assignment.job_id == key.job_id, person))

    def _invoice_of(self, key: MessageKey) -> tuple[Invoice, Payment | None]:
        return invoices.of_payment_or_invoice(*key.invoice_subject)

    def _still_fits(self, message: Message, notification: Notification) -> str:
        """The target group, and what stops the trigger (an order paid), as they are now: a
        message can wait, e.g. for approval."""
        buyer = message.customer_id in self.buyers
        if (notification.audience == "buyers" and not buyer) or (notification.audience == "potential_buyers" and buyer):
            return _("The customer is no longer in the notification's target group.")
        trigger = triggers.get(notification.trigger)
        subject = self._subject(message) if trigger.stops else None
        return trigger.stopped(subject) if subject is not None else ""

    def _subject(self, message: Message):
        """What the message's occurrence is about, which a trigger's stops read: its order,
        voucher, customer or job."""
        key = MessageKey.parse(message.key)
        if key is None:
            return None
        if key.kind is Occurrence.ORDER:
            return self.orders.get(key.subject_id)
        if key.kind is Occurrence.VOUCHER:
            return db.session.get(Voucher, key.subject_id)
        return message.customer if key.kind is Occurrence.REGISTRATION else message.job

    @_in_its_language
    def write(self, message: Message) -> str:
        """Render a made message once (a retry sends the same text and Message-ID), kept on the
        object until ``store_written``. Returns why it cannot be written, or "". The words it fills
        in (a role, a payment method) are in the studio's language, as the editor's preview shows."""
        if message.body:
            return ""
        job, notification = message.job, message.notification
        if notification is None:  # a confirmation whose text failed when it was made
            return _("This message has no text and cannot be written again.")
        key = MessageKey.parse(message.key)
        if key.kind.is_invoices:
            return self._written_as(message, notification, composer.invoice_context(
                self.studio, *self._invoice_of(key)))
        if job.id not in self._job_parts:
            self._job_parts[job.id] = composer.job_values(self.studio, job)
        if key.customer_id is None:
            in_team = triggers.Audience(notification.audience) in triggers.TEAM
            return self._written_as(message, notification, composer.job_people_context(
                self.studio, job, self._job_parts[job.id], self._assignment_of(key) if in_team else None))
        order = db.session.get(Order, key.subject_id) if key.kind is Occurrence.ORDER else None
        voucher = db.session.get(Voucher, key.subject_id) if key.kind is Occurrence.VOUCHER else None
        return self._written_as(message, notification, composer.context_for(
            self.studio, job, message.customer, self.policy.base_url, order, voucher, self._job_parts[job.id],
            message.category))

    def _written_as(self, message: Message, notification: Notification, context: dict) -> str:
        try:
            rendered = templating.render(notification.subject, notification.body, notification.channel, context)
        except templating.TemplateProblem as problem:
            return str(problem)[:500]
        # Kept on the object without marking it changed: store_written saves the batch's at once.
        set_committed_value(message, "subject", rendered.subject)
        set_committed_value(message, "body", rendered.text)
        set_committed_value(message, "message_id", composer.message_id_for(message.key, self.account.from_address))
        self._written.append({"_id": message.id, "_subject": message.subject, "_body": message.body,
                              "_message_id": message.message_id})
        return ""

    def store_written(self) -> None:
        """Save the texts written since the last call, in one commit (a commit per row would cost
        a send's worth each). Only into rows still unwritten: two scheduler passes at once may
        both write a message awaiting approval, and the first one's text is the one kept (a
        worker's rows are claimed, so nobody else writes them)."""
        if self._written:
            table = Message.__table__
            db.session.execute(
                table.update().where(table.c.id == sa.bindparam("_id"), table.c.body == "")
                .values(subject=sa.bindparam("_subject"), body=sa.bindparam("_body"),
                        message_id=sa.bindparam("_message_id")),
                self._written)
            self._written.clear()
        db.session.commit()



def _fits(key: MessageKey, audience: triggers.Audience) -> bool:
    """Is the key's recipient of the kind the notification reaches now (an edit may have changed it)?"""
    if audience in (triggers.Audience.CLIENT, triggers.Audience.VENDORS):
        return key.contact_id is not None
    if audience is triggers.Audience.STAFF:
        return key.user_id is not None
    return key.recipient == message_keys.STUDIO if audience is triggers.Audience.STUDIO else False
