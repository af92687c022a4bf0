"""What the frame of every signed-in page shows: the unread alerts beside "Alerts", and whether a
banner is due because sending, the inbox sync or texts are paused."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from . import alerts, mailsettings
from .channels import sms
from .extensions import db


@dataclass(frozen=True)
class Glance:
    unread_alerts: int
    mail_failing: bool
    texts_failing: bool


def at_a_glance(studio_id: int) -> Glance:
    """One query (three were a twentieth of a page on PostgreSQL); a failing account itself is read
    only when one fails, which is seldom."""
    return Glance(*db.session.execute(sa.select(
        alerts.unread_count(studio_id).scalar_subquery(),
        sa.exists().where(*mailsettings.failing_where(studio_id)),
        sa.exists().where(*sms.failing_where(studio_id)))).one())
