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
    more: bool = False  # counted only up to a cap: there are more than ``total`` (and more pages)


def fetch(count: sa.Select, rows: sa.Select, wanted: int, size: int) -> Page:
    """``count`` counts the matching rows and ``rows`` selects them in order. A page number past
    the end shows the last page, so a deleted row never leaves someone on an empty one."""
    return _page(db.session.scalar(count), False, rows, wanted, size)


def fetch_capped(matching: sa.Select, rows: sa.Select, wanted: int, size: int, cap: int) -> Page:
    """The same for lists that grow without end (the outbox): ``matching`` selects the matching
    rows' ids, counted up to ``cap`` or to the page wanted, whichever is further. Counting every
    one of 300,000 messages took 33 ms on PostgreSQL; a page past the cap still finds its rows."""
    limit = max(cap, wanted * size)
    counted = db.session.scalar(sa.select(sa.func.count()).select_from(matching.limit(limit + 1).subquery()))
    return _page(min(counted, limit), counted > limit, rows, wanted, size)


def _page(total: int, more: bool, rows: sa.Select, wanted: int, size: int) -> Page:
    pages = max(1, -(-total // size))
    page = min(max(wanted, 1), pages)
    # A select of one entity gives its objects; a select of columns (the outbox's), rows.
    found = db.session.execute(rows.limit(size).offset((page - 1) * size))
    return Page(found.scalars().all() if len(rows.column_descriptions) == 1 else found.all(), total, page, pages, more)
