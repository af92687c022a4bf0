"""The automatic answer to a first mail from someone who is no contact yet (Pixifi's "automated
responses"): a template the owner chose, sent through the outbox like every message, at most once
per address in the chosen number of days. Never to automated mail (Auto-Submitted, RFC 3834),
mailing lists and newsletters, no-reply senders, the studio itself and its domain, or addresses on the
do-not-contact list; never to mail older than a day or than the answer being switched on (a first
sync of a big mailbox answers nobody); delivery reports are no mail here at all.
"""
from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from . import composer, deliverability, mail_templates, message_keys, templating
from .extensions import db
from .models import ContactAddress, MailAccount, MailParty, MailTemplate, Message, Studio, Suppression, User
from .validation import Invalid

log = logging.getLogger(__name__)

RECENT = timedelta(days=1)
MAX_DAYS = 365


def configure(account: MailAccount, template: MailTemplate | None, days: int, now: datetime) -> None:
    """Switch the answer on (with a template) or off; switching on starts its clock now."""
    if not 1 <= days <= MAX_DAYS:
        raise Invalid({"days": str(_l("Between 1 and %(max)d days.", max=MAX_DAYS))})
    if template is not None and account.autoreply_template_id is None:
        account.autoreply_since = now
    account.autoreply_template_id = template.id if template is not None else None
    account.autoreply_days = days
    db.session.add(account)
    db.session.commit()


def answer(studio_id: int, written: list, now: datetime) -> int:
    """Queue an answer to each new mail of a synced batch that wants one (no commit: it goes with
    the batch). ``written``: (what the sync read, item id) of the mail people wrote to the studio
    (``inbox.Fetched.from_someone``). Returns how many were queued."""
    if not written:
        return 0
    account = db.session.scalar(sa.select(MailAccount).where(MailAccount.studio_id == studio_id))
    template = db.session.get(MailTemplate, account.autoreply_template_id) if account.autoreply_template_id else None
    if template is None or template.studio_id != studio_id:
        return 0
    since = max(now - RECENT, account.autoreply_since or now)
    wanted = {}
    for mail, item_id in written:
        if mail.sent_at >= since:
            wanted.setdefault(mail.from_address, (mail, item_id))  # the first of several in one batch
    recent = [item_id for mail, item_id in written if mail.sent_at >= since]
    for address in _not_to(account, list(wanted), recent, now):
        wanted.pop(address, None)
    studio = db.session.get(Studio, studio_id)
    for mail, item_id in wanted.values():
        _queue(studio, account, template, mail, item_id, now)
    return len(wanted)


def _not_to(account: MailAccount, addresses: list[str], recent: list[int], now: datetime) -> set[str]:
    """Of these, who gets no answer: a contact; anyone in earlier mail of the mailbox (from or to,
    other than the ``recent`` items being answered: it is no first mail, the studio knows them); the studio's users and its account's own
    addresses, and anyone at its own domain; the do-not-contact list; who was answered in the last days."""
    if not addresses:
        return set()
    studio_id = account.studio_id
    contacts = set(db.session.scalars(sa.select(ContactAddress.address).where(
        ContactAddress.studio_id == studio_id, ContactAddress.address.in_(addresses))))
    earlier = set(db.session.scalars(sa.select(MailParty.address).where(
        MailParty.studio_id == studio_id, MailParty.address.in_(addresses), MailParty.item_id.not_in(recent))))
    users = {email.lower() for email in db.session.scalars(sa.select(User.email).where(User.studio_id == studio_id))}
    own = {a.lower() for a in (account.from_address, account.reply_to, account.smtp_username, account.imap_username)}
    answered = set(db.session.scalars(sa.select(Message.recipient).where(
        Message.studio_id == studio_id, Message.due_at >= now - timedelta(days=account.autoreply_days),
        message_keys.autoreplies(Message.key), Message.recipient.in_(addresses))))
    listed = set(db.session.scalars(sa.select(Suppression.address).where(
        Suppression.studio_id == studio_id, Suppression.channel == "email", Suppression.address.in_(addresses),
        Suppression.marketing_only.is_(False))))  # an unsubscribe from offers still gets an answer
    return contacts | earlier | answered | listed | ((users | own) & set(addresses)) | {
        address for address in addresses if _colleague(address, account.from_address)}


def _colleague(address: str, own_address: str) -> bool:
    """Someone at the studio's own domain (a second shooter writing from info@ to hello@), unless
    that domain is a mailbox provider's: a studio at gmail.com answers other gmail.com senders."""
    domain = own_address.rpartition("@")[2].lower()
    return bool(domain) and domain not in deliverability.MAILBOX_PROVIDERS and address.endswith("@" + domain)


def _plain_name(name: str) -> str:
    """A stranger's From name as a greeting may use it: letters, spaces, hyphens and apostrophes,
    at most 40 characters. Anything more ("Anna www.example.com") would put their text, and a
    link, into the studio's own mail."""
    return " ".join(re.sub(r"[^\w\s'-]|[\d_]", " ", name).split())[:40]


def _queue(studio: Studio, account: MailAccount, template: MailTemplate, mail, item_id: int, now: datetime) -> None:
    try:
        filled = mail_templates.filled_for_person(studio, _plain_name(mail.from_name), mail.from_address, template)
    except templating.TemplateProblem as problem:
        log.warning("Studio %s's automatic answer cannot be written: %s", studio.id, problem)
        return
    key = message_keys.autoreply(item_id)
    references = " ".join(dict.fromkeys(r for r in (mail.thread_key, mail.message_id) if r.startswith("<")))
    db.session.add(Message(studio_id=studio.id, key=key, channel="email", recipient=mail.from_address,
                           subject=filled.subject, body=filled.text, references=references[:1000],
                           message_id=composer.message_id_for(key, account.from_address), due_at=now,
                           status="scheduled", created_at=now))
