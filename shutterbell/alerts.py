"""Alerts: what the owner should know without looking (a new sign-up, an order, a message that
failed for good, sending paused, the inbox sync stopped). Each kind goes to the app's list (with
an unread count in the navigation) and into an email to the owner, as the studio switched it
(the Alerts page). The email is a digest made by the minute's cron pass
(``mail_due``), through the instance's own mail server; without one, through the studio's
account, except when that account is what broke."""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext, ngettext
from flask_babel.speaklater import LazyString
from flask_babel import lazy_gettext as _l

from . import paging
from .extensions import db
from .i18n import speaking
from .models import Alert, Studio, User, utcnow

KINDS = {
    "sign_up": _l("A new sign-up (confirmed on the public page)"),
    "order": _l("An order placed"),
    "failed": _l("A message that failed for good"),
    "paused": _l("Sending paused (the account was refused)"),
    "sync_stopped": _l("The inbox sync stopped"),
}
ACCOUNT_KINDS = ("paused", "sync_stopped")  # about the studio's own account: never mailed through it
MERGED = ("failed",)  # again while one is unread: that one counts it (a rejected campaign is one alert)
WAYS = ("app", "email")
PAGE_SIZE = 50
KEPT = timedelta(days=90)
DIGEST_LINES = 20
log = logging.getLogger(__name__)


def wanted(studio: Studio, kind: str, way: str) -> bool:
    return f"{kind}.{way}" not in (studio.muted_alerts or [])


def raise_alert(studio_id: int, kind: str, text: str | LazyString, link: str = "", about: str = "",
                now: datetime | None = None) -> None:
    """Note it for the owner as the studio wants it (nothing if both ways are off), ``text`` (an
    ``_l`` text) written in the studio's language, whether a page, the worker or the scheduler
    raised it. ``about`` names the person it concerns ("customer:12"), so that erasing them
    erases it. Joins the caller's transaction: the caller commits, with what happened."""
    studio = db.session.get(Studio, studio_id)
    in_app, by_mail = wanted(studio, kind, "app"), wanted(studio, kind, "email")
    if not (in_app or by_mail):
        return
    with speaking(studio):
        text = str(text)
    now = now or utcnow()
    pending = db.session.scalar(sa.select(Alert).where(
        Alert.studio_id == studio_id, Alert.kind == kind, Alert.read_at.is_(None)).order_by(Alert.id.desc())
        .limit(1)) if kind in MERGED else None
    if pending is not None:
        pending.count += 1
        pending.text, pending.link, pending.about, pending.created_at = text[:500], link, about, now
        pending.mail_due = pending.mail_due or by_mail
        return
    db.session.add(Alert(studio_id=studio_id, kind=kind, text=text[:500], link=link, about=about, in_app=in_app,
                         mail_due=by_mail, created_at=now))
    db.session.execute(sa.delete(Alert).where(Alert.studio_id == studio_id, Alert.created_at < now - KEPT))


def forget(*about: str) -> None:
    """Erasure: the alerts about these people go (no commit)."""
    db.session.execute(sa.delete(Alert).where(Alert.about.in_(about)))


def unread(studio_id: int) -> int:
    return db.session.scalar(unread_count(studio_id))


def unread_count(studio_id: int) -> sa.Select:
    return sa.select(sa.func.count()).where(Alert.studio_id == studio_id, Alert.read_at.is_(None), Alert.in_app)


def recent(studio_id: int, page: int = 1) -> paging.Page:
    where = [Alert.studio_id == studio_id, Alert.in_app]
    return paging.fetch(sa.select(sa.func.count()).select_from(Alert).where(*where),
                        sa.select(Alert).where(*where).order_by(Alert.created_at.desc(), Alert.id.desc()),
                        page, PAGE_SIZE)


def mark_read(studio_id: int, shown: list[Alert], now: datetime) -> None:
    """What the owner saw is read; one that came meanwhile stays new."""
    if shown:
        db.session.execute(sa.update(Alert).where(Alert.studio_id == studio_id, Alert.read_at.is_(None),
                                                  Alert.id.in_([a.id for a in shown])).values(read_at=now))
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

    def subject(self) -> str:
        name = " ".join(self.studio.name.split())  # no line break reaches a header
        return ngettext("%(studio)s: %(num)d new alert", "%(studio)s: %(num)d new alerts", len(self.alerts),
                        studio=name)

    def body(self, base_url: str) -> str:
        base = base_url.rstrip("/")
        lines = [a.text + (" (" + ngettext("%(num)d time", "%(num)d times", a.count) + ")" if a.count > 1 else "")
                 + "\n" + base + a.link for a in self.alerts[:DIGEST_LINES]]
        if len(self.alerts) > DIGEST_LINES:
            lines.append(gettext("… and %(num)d more on the Alerts page.", num=len(self.alerts) - DIGEST_LINES))
        return "\n\n".join(lines) + "\n\n" + gettext("Which alerts reach you, and how: %(url)s", url=base + "/alerts/")


def _claim(studio_id: int) -> list[Alert]:
    """Take the studio's due alerts for one email: two passes at once (several workers) each take
    what the other did not, so nothing is mailed twice."""
    ids = db.session.scalars(sa.update(Alert).where(Alert.studio_id == studio_id, Alert.mail_due)
                             .values(mail_due=False).returning(Alert.id)).all()
    db.session.commit()
    return db.session.scalars(sa.select(Alert).where(Alert.id.in_(ids)).order_by(Alert.id)).all() if ids else []


def mail_digests(base_url: str, send: Callable[..., str]) -> int:
    """Each studio's new alerts in one email to its owner (the minute's cron pass), through
    ``send`` (``accounts.send_about_the_app``: the app's own mail). Returns how many went. What
    cannot go (no owner, no way to mail it) is shown in the app's list instead; one studio's
    failure stops no other's."""
    sent = 0
    for studio_id in db.session.scalars(sa.select(Alert.studio_id).where(Alert.mail_due).distinct()).all():
        claimed = _claim(studio_id)
        if not claimed:
            continue
        owner = db.session.scalar(User.first_owner_email(studio_id))
        digest = Digest(db.session.get(Studio, studio_id), owner or "", claimed)
        try:
            with speaking(digest.studio):
                subject, body = digest.subject(), digest.body(base_url)
            went = bool(digest.owner) and bool(send(digest.studio, digest.owner, subject, body,
                                                    through_studio=not digest.about_the_account))
        except Exception:  # one studio's mail must not stop the others'
            log.exception("The alert email of studio %s failed", studio_id)
            db.session.rollback()
            went = False
        if not went:
            db.session.execute(sa.update(Alert).where(Alert.id.in_([a.id for a in claimed])).values(in_app=True))
            db.session.commit()
        sent += went
    return sent
