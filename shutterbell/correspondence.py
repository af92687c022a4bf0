"""Email staff write to a contact by hand, new or as a reply to a synced mail. It goes through the
outbox like every other message (the studio's account, its sending limits, retries, the contact's
tab), as a personal email: no unsubscribe link, not marked automatic, and a reply keeps the
thread (In-Reply-To, References). What is typed is what is sent: no placeholders are filled in.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l

from . import composer, mail_bodies, mailsettings, message_keys, suppression
from .extensions import db
from .models import Contact, MailAccount, MailItem, Message, Studio
from .validation import Invalid

MAX_SUBJECT = 300
MAX_BODY = 20_000
QUOTED_LINES = 40  # of the mail answered, below the reply


@dataclass
class Draft:
    to: str
    subject: str
    body: str
    reply_to: int | None = None  # the synced mail (MailItem) answered


def reply_draft(contact: Contact, item: MailItem, account: MailAccount) -> Draft:
    """"Re:" and the mail quoted below, to the address it came from (when it is the contact's)."""
    addresses = [a.address for a in contact.addresses]
    to = item.from_address if item.from_address in addresses else contact.email
    subject = item.subject if re.match(r"(?i)(re|aw|odp)\s*:", item.subject) else f"Re: {item.subject}"
    try:
        text = mail_bodies.open_item(item, account).body_text or item.snippet
    except mail_bodies.Unavailable:
        text = item.snippet
    quoted = "\n".join(f"> {line}" for line in text.strip().splitlines()[:QUOTED_LINES])
    wrote = _l("%(who)s wrote:", who=item.from_name or item.from_address)
    return Draft(to, subject[:MAX_SUBJECT], f"\n\n{wrote}\n{quoted}\n" if quoted else "", item.id)


def send(studio: Studio, contact: Contact, draft: Draft, now: datetime) -> Message:
    """Put the email in the outbox, due now (the caller hands it to a worker at once)."""
    problems = {}
    if draft.to not in [a.address for a in contact.addresses]:
        problems["to"] = _l("Choose one of the contact's addresses.")
    elif draft.to in suppression.erased_addresses(contact.studio_id):
        problems["to"] = _l("This address belongs to someone erased on request: it is on the do-not-contact list.")
    for name, value, limit in (("subject", draft.subject, MAX_SUBJECT), ("body", draft.body, MAX_BODY)):
        if not value.strip():
            problems[name] = _l("This field is required.")
        elif len(value) > limit:
            problems[name] = _l("At most %(limit)d characters.", limit=limit)
    if composer.has_control_characters(draft.subject):
        problems["subject"] = _l("A subject is one line.")
    if problems:
        raise Invalid(problems)
    account = mailsettings.account_of(studio)
    key = message_keys.personal(secrets.token_hex(8))
    message = Message(studio_id=contact.studio_id, key=key, channel="email", recipient=draft.to,
                      subject=draft.subject.strip(), body=draft.body, references=_references(contact, draft),
                      message_id=composer.message_id_for(key, account.from_address), due_at=now,
                      status="scheduled", created_at=now)
    db.session.add(message)
    db.session.commit()
    return message


def _references(contact: Contact, draft: Draft) -> str:
    """The answered mail's thread, its first message and itself: enough for every mail program
    to put the reply in the conversation."""
    if draft.reply_to is None:
        return ""
    item = db.session.get(MailItem, draft.reply_to)
    if item is None or item.studio_id != contact.studio_id or not item.message_id:
        return ""
    chain = [item.thread_key] if item.thread_key.startswith("<") and item.thread_key != item.message_id else []
    return " ".join([*chain, item.message_id])[:1000]
