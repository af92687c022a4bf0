"""A job's team: staff members (users who sign in) and vendors (contacts: a second shooter, the
venue, the lab), each with a role. Their scheduling messages run on the job's profile like the
customers' (``triggers.TEAM``); a staff member sees their coming jobs first when they sign in."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from . import triggers
from .extensions import db
from .models import Assignment, Contact, Job, Notification, User
from .validation import Invalid

MAX_ROLE = 80
STAFF, VENDOR = "u", "c"  # a choice's prefix: "u12" is user 12, "c5" contact 5


@dataclass
class AssignInput:
    person: str  # from ``choices``: "u12" (a staff member) or "c5" (a vendor)
    role: str


def choices(studio_id: int) -> list[tuple[str, str]]:
    """Who can be put on a job: the studio's users, then its vendors, by name."""
    users = db.session.scalars(sa.select(User).where(User.studio_id == studio_id)
                               .order_by(sa.func.lower(User.name), User.email))
    vendors = db.session.scalars(sa.select(Contact).where(Contact.studio_id == studio_id, Contact.kind == "vendor")
                                 .order_by(sa.func.lower(Contact.name), Contact.id))
    return ([(f"{STAFF}{u.id}", u.name or u.email) for u in users]
            + [(f"{VENDOR}{c.id}", f"{c.name} ({c.company})" if c.company else c.name) for c in vendors])


def team_of(job: Job) -> list[Assignment]:
    """Staff first, then vendors, each in the order they joined."""
    found = db.session.scalars(sa.select(Assignment).where(Assignment.job_id == job.id)
                               .options(selectinload(Assignment.user), selectinload(Assignment.contact)
                                        .selectinload(Contact.addresses))
                               .order_by(Assignment.id)).all()
    return sorted(found, key=lambda a: a.user_id is None)


def assign(job: Job, data: AssignInput, now: datetime) -> Assignment:
    """Put someone of the studio on the job's team. Refused, naming the field: someone unknown
    (or another studio's), no role, someone on the team already, and a vendor without an address
    while the job's profile emails its vendors (the message would be skipped)."""
    user, contact = _person(job.studio_id, data.person)
    role = data.role.strip()
    found = {}
    if user is None and contact is None:
        found["person"] = str(_l("Choose someone from the list."))
    if not role:
        found["role"] = str(_l("Which role do they have on this job (second shooter, venue, lab…)?"))
    elif len(role) > MAX_ROLE:
        found["role"] = str(_l("At most %(num)d characters.", num=MAX_ROLE))
    if contact is not None and not contact.email and _emails(job, triggers.Audience.VENDORS):
        found["person"] = str(_l("%(name)s has no email address, and this job's profile emails its vendors: add "
                                 "one on their contact page first.", name=contact.name))
    if found:
        raise Invalid(found)
    assignment = Assignment(studio_id=job.studio_id, job_id=job.id, user_id=user.id if user else None,
                            contact_id=contact.id if contact else None, role=role, assigned_at=now)
    db.session.add(assignment)
    try:
        db.session.commit()
    except sa.exc.IntegrityError:  # on the team already (maybe added in another tab a moment ago)
        db.session.rollback()
        raise Invalid({"person": str(_l("%(name)s is on this job's team already.",
                                        name=(user.name or user.email) if user else contact.name))}) from None
    return assignment


def _person(studio_id: int, choice: str) -> tuple[User | None, Contact | None]:
    kind, ident = choice[:1], choice[1:]
    if not ident.isdigit() or len(ident) > 12:
        return None, None
    if kind == STAFF:
        return db.session.scalar(sa.select(User).where(User.studio_id == studio_id, User.id == int(ident))), None
    if kind == VENDOR:
        return None, db.session.scalar(sa.select(Contact).where(Contact.studio_id == studio_id,
                                                                Contact.id == int(ident), Contact.kind == "vendor"))
    return None, None


def _emails(job: Job, audience: triggers.Audience) -> bool:
    """Does the job's profile have an active email notification to this part of the team?"""
    return job.profile_id is not None and db.session.scalar(sa.select(sa.exists().where(
        Notification.profile_id == job.profile_id, Notification.retired_at.is_(None), Notification.enabled,
        Notification.audience == audience.value, Notification.channel == "email")))


def unassign(job: Job, assignment_id: int) -> str | None:
    """Take someone off the job's team (what was made for them and not sent yet is skipped);
    returns their name, or None: not on this job's team."""
    assignment = db.session.scalar(sa.select(Assignment).where(Assignment.id == assignment_id,
                                                               Assignment.job_id == job.id))
    if assignment is None:
        return None
    name = assignment.name
    db.session.delete(assignment)
    db.session.commit()
    return name


def upcoming_for(user: User, today: date, limit: int = 10) -> list[tuple[Assignment, Job]]:
    """A staff member's coming jobs, soonest shoot first (jobs without a date after them)."""
    return db.session.execute(
        sa.select(Assignment, Job).join(Job, Assignment.job_id == Job.id)
        .where(Assignment.user_id == user.id, Job.studio_id == user.studio_id, Job.status != "archived",
               sa.or_(Job.shoot_date.is_(None), Job.shoot_date >= today))
        .order_by(Job.shoot_date.is_(None), Job.shoot_date, Job.id).limit(limit)).tuples().all()


def forget_user(user: User) -> None:
    """A user removed from the studio leaves every team (no commit)."""
    db.session.execute(sa.delete(Assignment).where(Assignment.user_id == user.id))


def forget_contact(contact: Contact, into: Contact | None = None) -> None:
    """A contact erased leaves every team and stops being a job's client; one merged into ``into``
    hands its places over, where ``into`` is not on that team already (no commit)."""
    db.session.execute(sa.update(Job).where(Job.client_id == contact.id).values(client_id=into.id if into else None))
    if into is not None:
        taken = sa.select(Assignment.job_id).where(Assignment.contact_id == into.id).scalar_subquery()
        db.session.execute(sa.update(Assignment).where(Assignment.contact_id == contact.id,
                                                       Assignment.job_id.not_in(taken)).values(contact_id=into.id))
    db.session.execute(sa.delete(Assignment).where(Assignment.contact_id == contact.id))
