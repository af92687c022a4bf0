"""Who changed which setting, and when: the owner's record of mail accounts, profiles, users,
studio settings, templates and API tokens changing. Entries are written by the pages right after
the change succeeded, say what changed in words (never a password or token), and are read only by
the studio's owner.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from . import paging
from .extensions import db
from .models import AuditEntry, Studio, User

PAGE_SIZE = 50
WHAT = {
    "smtp_saved": _l("Sending account saved"),
    "smtp_oauth_connected": _l("Sending account signed in with the provider"),
    "imap_oauth_connected": _l("Inbox signed in with the provider"),
    "imap_saved": _l("Inbox saved"),
    "imap_removed": _l("Inbox disconnected"),
    "sms_saved": _l("SMS account saved"),
    "sms_removed": _l("SMS account removed"),
    "profile_saved": _l("Profile saved"),
    "profile_deleted": _l("Profile deleted"),
    "user_invited": _l("User invited"),
    "user_removed": _l("User removed"),
    "studio_saved": _l("Studio settings saved"),
    "template_saved": _l("Template saved"),
    "template_deleted": _l("Template deleted"),
    "autoreply_changed": _l("Automatic answer changed"),
    "token_created": _l("API token created"),
    "token_revoked": _l("API token revoked"),
}


def record(studio_id: int, user: User | None, what: str, subject: str, now: datetime) -> None:
    """One change, committed on its own (the change itself is committed already)."""
    assert what in WHAT, what
    db.session.add(AuditEntry(studio_id=studio_id, user_id=user.id if user else None,
                              user_email=user.email if user else "", what=what, subject=subject[:500], at=now))
    db.session.commit()


def entries(studio: Studio, page: int = 1) -> paging.Page:
    where = AuditEntry.studio_id == studio.id
    return paging.fetch(sa.select(sa.func.count()).select_from(AuditEntry).where(where),
                        sa.select(AuditEntry).where(where).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()),
                        page, PAGE_SIZE)


def mail_summary(given) -> str:
    """A mail account's new settings in words, without its password ("new password" if one was typed)."""
    parts = [f"{given.host}:{given.port} ({given.security})", f"user {given.username}" if given.username else ""]
    if getattr(given, "from_address", ""):
        parts.append(f"from {given.from_address}")
    if getattr(given, "folders", None):
        parts.append("folders " + ", ".join(given.folders))
    if given.password:
        parts.append("new password")
    return ", ".join(p for p in parts if p)


def sms_summary(given) -> str:
    """An SMS account's new settings in words, without its token."""
    return ", ".join(p for p in (f"account {given.account_sid}", f"from {given.from_number}",
                                 "new token" if given.token else "") if p)
