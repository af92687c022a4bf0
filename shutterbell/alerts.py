"""Alerts: what the owner should know without looking (a new sign-up, an order, a message that
failed for good, sending paused, the inbox sync stopped). Each kind goes to the app's list (with
an unread count in the navigation) and into an email to the owner, as the studio switched it
(the Alerts page). The email is a digest made by the minute's cron pass
(``mail_due``), through the instance's own mail server; without one, through the studio's
account, except when that account is what broke."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l

from . import paging
from .extensions import db
from .models import Alert, Studio, User

KINDS = {
    "sign_up": _l("A new sign-up (confirmed on the public page)"),
    "order": _l("An order placed"),
    "failed": _l("A message that failed for good"),
    "paused": _l("Sending paused (the account was refused)"),
    "sync_stopped": _l("The inbox sync stopped"),
}
ACCOUNT_KINDS = ("paused", "sync_stopped")  # about the studio's own account: never mailed through it
WAYS = ("app", "email")
PAGE_SIZE = 50


def wanted(studio: Studio, kind: str, way: str) -> bool:
    return f"{kind}.{way}" not in (studio.muted_alerts or [])


def raise_alert(studio_id: int, kind: str, text: str, link: str = "") -> None:
    """Note it for the owner as the studio wants it (nothing if both ways are off). Joins the
    caller's transaction: the caller commits, with what happened."""
    studio = db.session.get(Studio, studio_id)
    in_app, by_mail = wanted(studio, kind, "app"), wanted(studio, kind, "email")
    if in_app or by_mail:
        db.session.add(Alert(studio_id=studio_id, kind=kind, text=text[:500], link=link, in_app=in_app,
                             mail_due=by_mail))


def unread(studio_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count()).where(
        Alert.studio_id == studio_id, Alert.in_app, Alert.read_at.is_(None)))


def recent(studio_id: int, page: int = 1) -> paging.Page:
    where = [Alert.studio_id == studio_id, Alert.in_app]
    return paging.fetch(sa.select(sa.func.count()).select_from(Alert).where(*where),
                        sa.select(Alert).where(*where).order_by(Alert.created_at.desc(), Alert.id.desc()),
                        page, PAGE_SIZE)


def mark_read(studio_id: int, now: datetime) -> None:
    db.session.execute(sa.update(Alert).where(Alert.studio_id == studio_id, Alert.read_at.is_(None))
                       .values(read_at=now))
    db.session.commit()


def switch(studio: Studio, on: set[str]) -> None:
    """Keep the "<kind>.<way>" pairs in ``on``; mute the rest."""
    studio.muted_alerts = sorted(f"{kind}.{way}" for kind in KINDS for way in WAYS if f"{kind}.{way}" not in on)
    db.session.commit()


@dataclass
class Digest:
    studio: Studio
    owner: str
    alerts: list[Alert]

    @property
    def about_the_account(self) -> bool:
        return any(a.kind in ACCOUNT_KINDS for a in self.alerts)


def digests() -> list[Digest]:
    """Per studio, the alerts its owner's next email carries, oldest first (one email a pass, not
    one per sign-up)."""
    due = db.session.scalars(sa.select(Alert).where(Alert.mail_due).order_by(Alert.studio_id, Alert.id)).all()
    found: dict[int, Digest] = {}
    for alert in due:
        if alert.studio_id not in found:
            owner = db.session.scalar(sa.select(User.email).where(
                User.studio_id == alert.studio_id, User.role == "owner", User.password_hash.is_not(None))
                .order_by(User.id).limit(1))
            found[alert.studio_id] = Digest(db.session.get(Studio, alert.studio_id), owner or "", [])
        found[alert.studio_id].alerts.append(alert)
    return list(found.values())


def mailed(digest: Digest) -> None:
    db.session.execute(sa.update(Alert).where(Alert.id.in_([a.id for a in digest.alerts])).values(mail_due=False))
    db.session.commit()


def mail_digests(base_url: str) -> int:
    """Each studio's new alerts in one email to its owner (the minute's cron pass). Returns how
    many went. Tried once: what could not go stays in the app's list."""
    from . import accounts  # (accounts imports modules that import this one)

    sent = 0
    for digest in digests():
        if digest.owner:
            subject = ngettext("%(studio)s: %(num)d new alert", "%(studio)s: %(num)d new alerts", len(digest.alerts),
                               studio=digest.studio.name)
            base = base_url.rstrip("/")
            body = "\n\n".join(f"{a.text}\n{base}{a.link}" for a in digest.alerts) + "\n\n" + gettext(
                "Which alerts reach you, and how: %(url)s", url=f"{base}/alerts/")
            sent += bool(accounts.send_about_the_app(digest.studio, digest.owner, subject, body,
                                                     through_studio=not digest.about_the_account))
        mailed(digest)
    return sent
