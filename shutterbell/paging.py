"""A page of a long list. The jobs, the outbox, the suppression list and the contacts page alike."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from .extensions import db


@dataclass
class Page:
    rows: list
    total: int
    page: int  # 1-based, within 1..pages
    pages: int


def fetch(count: sa.Select, rows: sa.Select, wanted: int, size: int) -> Page:
    """``count`` counts the matching rows and ``rows`` selects them in order. A page number past
    the end shows the last page, so a deleted row never leaves someone on an empty one."""
    total = db.session.scalar(count)
    pages = max(1, -(-total // size))
    page = min(max(wanted, 1), pages)
    return Page(db.session.scalars(rows.limit(size).offset((page - 1) * size)).all(), total, page, pages)
