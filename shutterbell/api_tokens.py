"""Per-studio API tokens: made once, shown once, stored as a SHA-256, revocable."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

import sqlalchemy as sa

from .extensions import db
from .models import ApiToken, Studio


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(studio: Studio, name: str, now: datetime) -> tuple[ApiToken, str]:
    """A new token; returns the row and the token itself, which is never stored or shown again."""
    token = "sb_" + secrets.token_urlsafe(32)
    row = ApiToken(studio_id=studio.id, name=name.strip()[:100] or "API", token_hash=_digest(token),
                   prefix=token[:10], created_at=now)
    db.session.add(row)
    db.session.commit()
    return row, token


def studio_for(token: str, now: datetime) -> Studio | None:
    """The studio a presented token belongs to, or None (unknown or revoked)."""
    row = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == _digest(token),
                                                      ApiToken.revoked_at.is_(None)))
    if row is None:
        return None
    row.last_used_at = now
    db.session.commit()
    return db.session.get(Studio, row.studio_id)


def list_tokens(studio: Studio) -> list[ApiToken]:
    return db.session.scalars(sa.select(ApiToken).where(ApiToken.studio_id == studio.id)
                              .order_by(ApiToken.created_at.desc())).all()


def revoke(studio: Studio, token_id: int, now: datetime) -> bool:
    row = db.session.scalar(sa.select(ApiToken).where(ApiToken.id == token_id, ApiToken.studio_id == studio.id))
    if row is None:
        return False
    row.revoked_at = row.revoked_at or now
    db.session.commit()
    return True
