"""Bounces: the delivery reports (RFC 3464) a studio's mail provider puts in its inbox when a sent
message could not be delivered. The inbox sync (``inbox``) finds them as they arrive and hands
them here: a permanent failure marks the message *bounced* with the server's words and puts the
address on the studio's suppression list, so no later message goes to it. Reading a report again
is harmless: a message is bounced once, and an address listed once."""
from __future__ import annotations

import email
import email.policy
import logging
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from . import addresses, diagnostics, suppression
from .extensions import db
from .models import Message

log = logging.getLogger(__name__)

REPORT_BYTES = 65536  # read of each report: the status comes before any quoted original (photos included)


@dataclass(frozen=True)
class Bounce:
    recipient: str
    status: str  # the enhanced status code, e.g. "5.1.1"
    diagnostic: str  # the receiving server's words
    message_id: str  # the bounced message's Message-ID, when the report quotes its headers


def read_report(raw: bytes) -> list[Bounce]:
    """The permanent failures a delivery report lists (Action: failed, status 5.x.x); none for
    anything else (a delay warning, an ordinary email)."""
    report = email.message_from_bytes(raw, policy=email.policy.compat32)
    if report.get_content_type() != "multipart/report":
        return []
    status_part = next((p for p in report.walk() if p.get_content_type() == "message/delivery-status"), None)
    if status_part is None or not isinstance(status_part.get_payload(), list):
        return []
    message_id = _original_message_id(report)
    bounces = []
    for fields in status_part.get_payload()[1:]:  # the first block is about the report itself
        action, status = _field(fields, "Action").lower(), _field(fields, "Status")
        recipient = _address(_field(fields, "Final-Recipient") or _field(fields, "Original-Recipient"))
        if action == "failed" and status.startswith("5") and recipient and message_id:
            diagnostic = " ".join((_field(fields, "Diagnostic-Code") or status).split())
            bounces.append(Bounce(recipient, status, _after_type(diagnostic), message_id))
    return bounces


def _field(fields, name: str) -> str:
    """A header as text: compat32 hands raw 8-bit values back as Header objects."""
    return str(fields.get(name) or "").strip()


def _original_message_id(report) -> str:
    for part in report.walk():
        if part.get_content_type() == "text/rfc822-headers":
            headers = email.message_from_bytes(part.get_payload(decode=True) or b"", policy=email.policy.compat32)
            return _field(headers, "Message-ID")
        if part.get_content_type() == "message/rfc822":
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) else inner
            return _field(inner, "Message-ID")
    return ""


def _address(field: str) -> str:
    """"rfc822; Anna@Example.com" → "anna@example.com"."""
    return addresses.as_stored(_after_type(field).strip().strip("<>"))


def _after_type(field: str) -> str:
    kind, sep, value = field.partition(";")
    return value.strip() if sep else field.strip()


def apply(studio_id: int, bounces: list[Bounce], now: datetime) -> int:
    """Mark each bounced message and suppress its address, only for reports that quote the
    Message-ID of a message this studio sent to that address: anyone can mail the studio a
    report, and the owner's own mail bounces too. Returns how many messages became bounced."""
    changed = 0
    for bounce in bounces:
        message = db.session.scalar(sa.select(Message).where(
            Message.studio_id == studio_id, Message.channel == "email", Message.message_id == bounce.message_id,
            sa.func.lower(Message.recipient) == bounce.recipient))
        if message is None:
            continue
        diagnosis = diagnostics.classify("smtp", "rcpt", f"{bounce.status} {bounce.diagnostic}")
        changed += db.session.execute(sa.update(Message).where(Message.id == message.id, Message.status == "sent")
                                      .values(status="bounced", last_error=bounce.diagnostic[:500],
                                              cause=diagnosis.key)).rowcount
        if diagnosis.key != "message_refused":  # that message's fault (too big, spam): the address is fine
            suppression.suppress(studio_id, "email", bounce.recipient, "bounced", now)
    db.session.commit()
    return changed


def reports_in(raws: list[bytes]) -> list[Bounce]:
    """The permanent failures of these raw reports; one that cannot be read is skipped, not fatal."""
    found = []
    for raw in raws:
        try:
            found.extend(read_report(raw))
        except Exception:  # one malformed report must not hide the others
            log.warning("Unreadable delivery report skipped", exc_info=True)
    return found
