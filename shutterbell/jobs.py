"""Photo jobs: checking, saving, finding and archiving them."""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, load_only, selectinload
from flask_babel import lazy_gettext as _l

from . import paging
from .extensions import db
from .validation import Invalid
from .models import Contact, Job, Profile, Studio, Voucher, utcnow

MAX_NAME = 200
PAGE_SIZE = 25
# No 0/O, 1/I/L: the code is read off flyers and typed on phones.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8


@dataclass
class VoucherInput:
    code: str = ""
    value: str = ""
    expires_at: date | None = None

    @property
    def empty(self) -> bool:
        return not (self.code.strip() or self.value.strip() or self.expires_at)


@dataclass
class JobInput:
    name: str
    profile_id: int | None
    status: str = "active"
    shoot_date: date | None = None
    published_at: datetime | None = None  # aware, UTC
    order_deadline: date | None = None
    archives_at: date | None = None
    gallery_url: str = ""
    vouchers: list[VoucherInput] = field(default_factory=list)  # up to three, by slot
    client_id: int | None = None  # a contact of the studio: who booked it
    stage: str = ""  # Job.STAGES: the project's progress ("editing", "delivered")


def job_problems(studio: Studio, data: JobInput, published_on: date | None, job: Job | None = None) -> dict[str, str]:
    """Field name -> message. ``published_on`` is ``published_at`` as a date in the studio's zone.
    A job (``job``: as it is stored) may keep the profile it has even if that was deleted since (an
    archived job's), and its publication without a gallery address from before that was required."""
    current_profile_id, published_before = (job.profile_id, job.published_at) if job else (None, None)
    problems: dict = {}
    name = data.name.strip()
    if not name:
        problems["name"] = _l("Give the job a name.")
    elif len(name) > MAX_NAME:
        problems["name"] = _l("At most %(num)d characters.", num=MAX_NAME)
    if data.status not in Job.STATUSES:
        problems["status"] = _l("Choose a status.")
    if data.stage not in Job.STAGES:
        problems["stage"] = _l("Choose a stage.")
    if data.profile_id not in (None, current_profile_id) and usable_profile(studio, data.profile_id) is None:
        problems["profile_id"] = _l("Choose one of your communication profiles.")
    if data.client_id is not None and db.session.scalar(sa.select(Contact.id).where(
            Contact.id == data.client_id, Contact.studio_id == studio.id)) is None:
        problems["client_id"] = _l("Choose one of your contacts.")
    if data.gallery_url and not _is_web_address(data.gallery_url):
        problems["gallery_url"] = _l("Enter the full address, starting with https://")
    elif data.published_at and data.published_at != published_before and not data.gallery_url.strip():
        # "They are online:" and then nothing (a job published before keeps its other changes possible)
        problems["gallery_url"] = _l("Enter the gallery's address before the photos are published: the emails "
                                     "that announce them link to it.")
    problems.update(_date_order_problems(data, published_on))
    for slot, voucher in enumerate(data.vouchers):
        for name, message in _voucher_problems(voucher).items():
            problems[("vouchers", slot, name)] = message
    return {key: str(message) for key, message in problems.items()}


def _voucher_problems(voucher: VoucherInput) -> dict:
    if voucher.empty:
        return {}
    problems = {}
    code = voucher.code.strip()
    if not code:
        problems["code"] = _l("Enter the voucher code.")
    elif len(code) > 40 or not code.replace("-", "").replace("_", "").isalnum():
        problems["code"] = _l("Letters, digits, - and _ only, at most 40.")
    if not voucher.value.strip():
        problems["value"] = _l("Enter what it is worth, like “15 %” or “10 €”.")
    elif len(voucher.value.strip()) > 40:
        problems["value"] = _l("At most %(num)d characters.", num=40)
    if voucher.expires_at is None:
        problems["expires_at"] = _l("Enter the day it expires.")
    return problems


def _date_order_problems(data: JobInput, published_on: date | None) -> dict:
    problems = {}
    if data.archives_at and published_on and data.archives_at <= published_on:
        problems["archives_at"] = _l("The photos must be archived after they are published.")
    elif data.archives_at and data.shoot_date and data.archives_at <= data.shoot_date:
        problems["archives_at"] = _l("The photos must be archived after the shoot.")
    if data.order_deadline and data.archives_at and data.order_deadline > data.archives_at:
        problems["order_deadline"] = _l("The order deadline must not be after the archive date.")
    elif data.order_deadline and published_on and data.order_deadline < published_on:
        problems["order_deadline"] = _l("The order deadline must not be before the photos are published.")
    return problems


def _is_web_address(url: str) -> bool:
    parts = urlsplit(url.strip())
    return parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in url.strip()


def usable_profile(studio: Studio, profile_id: int) -> Profile | None:
    return db.session.scalar(sa.select(Profile).where(
        Profile.id == profile_id, Profile.studio_id == studio.id, Profile.deleted_at.is_(None)))


def get_job(studio: Studio, job_id: int) -> Job | None:
    """The studio's job, with its profile and vouchers (its page shows them: one query, not three)."""
    return db.session.scalars(sa.select(Job).where(Job.id == job_id, Job.studio_id == studio.id)
                              .options(joinedload(Job.profile), joinedload(Job.vouchers))).unique().first()


def find_jobs(studio: Studio, query: str = "", status: str = "", page: int = 1,
              profile_id: int | None = None) -> paging.Page:
    """Jobs matching a search (name or access code), status ("" hides archived ones, "all"
    shows every job) and profile, newest shoot first, a page at a time."""
    where = [Job.studio_id == studio.id]
    if profile_id:
        where.append(Job.profile_id == profile_id)
    if query.strip():
        pattern = f"%{query.strip().lower()}%"
        where.append(sa.or_(sa.func.lower(Job.name).like(pattern), sa.func.lower(Job.access_code).like(pattern)))
    if status in Job.STATUSES:
        where.append(Job.status == status)
    elif status != "all":
        where.append(Job.status != "archived")
    return paging.fetch(sa.select(sa.func.count(Job.id)).where(*where),
                        sa.select(Job).where(*where).options(selectinload(Job.profile))
                        .order_by(Job.shoot_date.desc().nulls_last(), Job.id.desc()), page, PAGE_SIZE)


def open_jobs(studio: Studio, also: int | None = None, limit: int = 500) -> list[Job]:
    """Jobs not archived, newest first, for a choice (an invoice's job), and the one ``also``
    chosen already."""
    return list(db.session.scalars(sa.select(Job).where(
        Job.studio_id == studio.id, sa.or_(Job.status != "archived", Job.id == (also or 0)))
        .order_by(Job.id.desc()).limit(limit)))


def save_job(studio: Studio, job: Job | None, data: JobInput, published_on: date | None) -> Job:
    problems = job_problems(studio, data, published_on, job)
    if problems:
        raise Invalid(problems)
    if job is None:
        job = Job(studio_id=studio.id, access_code=_new_access_code())
        db.session.add(job)
    job.name = data.name.strip()
    job.profile_id = data.profile_id
    job.status = data.status
    job.shoot_date, job.published_at = data.shoot_date, data.published_at
    job.order_deadline, job.archives_at = data.order_deadline, data.archives_at
    job.gallery_url = data.gallery_url.strip()
    if data.client_id != job.client_id:  # booked (again, by someone else): "booking confirmed" goes out
        job.client_id, job.booked_at = data.client_id, utcnow() if data.client_id else None
    _move_to(job, data.stage, utcnow())
    db.session.flush()
    _save_vouchers(job, data.vouchers)
    db.session.commit()
    return job


def _move_to(job: Job, stage: str, now: datetime) -> None:
    """A stage reached is an event ("the job is delivered"); going back and forth again is a new
    one. Staying where it is changes nothing; skipping editing sends no "in editing" with the
    "delivered"."""
    if stage == job.stage:
        return
    job.edited_at = None if not stage else (job.edited_at or now) if stage == "editing" else job.edited_at
    job.delivered_at = now if stage == "delivered" else None


def _save_vouchers(job: Job, vouchers: list[VoucherInput]) -> None:
    """Each slot's voucher is updated in place (its id is a trigger occurrence); a cleared slot
    removes it."""
    existing = {v.slot: v for v in db.session.scalars(sa.select(Voucher).where(Voucher.job_id == job.id))}
    for slot, data in enumerate(vouchers[:3]):
        voucher = existing.get(slot)
        if data.empty:
            if voucher is not None:
                db.session.delete(voucher)
            continue
        if voucher is None:
            voucher = Voucher(studio_id=job.studio_id, job_id=job.id, slot=slot)
            db.session.add(voucher)
        voucher.code, voucher.value, voucher.expires_at = data.code.strip(), data.value.strip(), data.expires_at
    db.session.expire(job, ["vouchers"])


def archive_job(job: Job) -> None:
    job.status = "archived"
    db.session.commit()


def jobs_using(profile: Profile, shown: int = 10) -> paging.Page:
    """The jobs a profile drives that are not archived: the first ``shown`` by name (their ids and
    names) and how many in all. A school photographer's profile may drive a hundred."""
    where = (Job.profile_id == profile.id, Job.studio_id == profile.studio_id, Job.status != "archived")
    return paging.fetch(sa.select(sa.func.count(Job.id)).where(*where),
                        sa.select(Job).where(*where).options(load_only(Job.id, Job.name)).order_by(Job.name),
                        1, shown)


def _new_access_code() -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if not db.session.scalar(sa.select(Job.id).where(Job.access_code == code)):
            return code


def as_input(job: Job) -> JobInput:
    """The job as it is, to change a few of its fields: every field of ``JobInput`` but the
    vouchers (an empty list changes none of them)."""
    return JobInput(name=job.name, profile_id=job.profile_id, status=job.status, shoot_date=job.shoot_date,
                    published_at=job.published_at, order_deadline=job.order_deadline, archives_at=job.archives_at,
                    gallery_url=job.gallery_url, client_id=job.client_id, stage=job.stage)


def change_dates(job: Job, **changes) -> Job:
    """Change some of a job's dates (the API's "job published", "archive date changed"), with the
    same checks as the form. Raises Invalid."""
    studio = db.session.get(Studio, job.studio_id)
    data = as_input(job)
    for name, value in changes.items():
        setattr(data, name, value)
    published_on = data.published_at.astimezone(ZoneInfo(studio.time_zone)).date() if data.published_at else None
    # Vouchers are left as they are: an empty list changes none of them.
    return save_job(studio, job, data, published_on)
