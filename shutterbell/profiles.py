"""Communication profiles: checking, saving (notifications updated in place), copying, deleting."""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime, time

import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from flask_babel import lazy_gettext as _l

from . import channels, jobs, paging, scheduling, templating, triggers
from .extensions import db
from .validation import Invalid
from .models import Job, Notification, Profile, Studio, utcnow

MAX_NAME = 120
MAX_DESCRIPTION = 500
MAX_NOTIFICATIONS = 30


@dataclass
class NotificationInput:
    trigger: str
    audience: str
    channel: str
    body: str
    subject: str = ""
    days: int | None = None
    send_time: str = "default"
    send_at: time | None = None
    requires_approval: bool = False
    enabled: bool = True
    stop_on_reply: bool = False
    category: str = ""  # service or marketing; "" takes the trigger's (an API call may leave it out)
    id: int | None = None  # the notification this row edits; None for a new one

    @classmethod
    def of(cls, notification: Notification) -> NotificationInput:
        return cls(**{f.name: getattr(notification, f.name) for f in fields(cls)})


@dataclass
class ProfileInput:
    name: str
    description: str = ""
    notifications: list[NotificationInput] = field(default_factory=list)


class UnknownNotification(LookupError):
    """A posted notification id that is not one of this profile's notifications."""


class ProfileInUse(ValueError):
    """The profile still drives jobs that are not archived; it cannot be deleted."""

    def __init__(self, jobs: paging.Page):
        super().__init__([job.id for job in jobs.rows])
        self.jobs = jobs


class ProfileChanged(UnknownNotification):
    """A posted notification was removed meanwhile (someone else saved the profile first)."""


def list_profiles(studio: Studio) -> list[Profile]:
    return db.session.scalars(_listed(studio, Profile).options(selectinload(Profile.notifications))).all()


def names_of(studio: Studio) -> list[tuple[int, str]]:
    """(id, name) of each profile in the list's order: a choice of profile (the job page's, the
    studio's default) needs no notifications loaded with them."""
    return [(row.id, row.name) for row in db.session.execute(_listed(studio, Profile.id, Profile.name))]


def _listed(studio: Studio, *columns) -> sa.Select:
    return (sa.select(*columns).where(Profile.studio_id == studio.id, Profile.deleted_at.is_(None))
            .order_by(Profile.recommended.desc(), sa.func.lower(Profile.name)))


def get_profile(studio: Studio, profile_id: int) -> Profile | None:
    return db.session.scalar(
        sa.select(Profile).where(
            Profile.id == profile_id, Profile.studio_id == studio.id, Profile.deleted_at.is_(None)
        )
    )


def profile_problems(data: ProfileInput) -> dict:
    problems: dict = {}
    name = data.name.strip()
    if not name:
        problems["name"] = _l("Give the profile a name.")
    elif len(name) > MAX_NAME:
        problems["name"] = _l("At most %(num)d characters.", num=MAX_NAME)
    if len(data.description) > MAX_DESCRIPTION:
        problems["description"] = _l("At most %(num)d characters.", num=MAX_DESCRIPTION)
    if len(data.notifications) > MAX_NOTIFICATIONS:
        problems["notifications"] = _l("At most %(num)d notifications per profile.", num=MAX_NOTIFICATIONS)
    problems = {key: str(message) for key, message in problems.items()}
    for index, item in enumerate(data.notifications):
        for name_, message in notification_problems(item).items():
            problems[("notifications", index, name_)] = message
    return problems


def notification_problems(item: NotificationInput) -> dict[str, str]:
    """Field name -> message (plain strings) for everything wrong with one notification."""
    trigger = triggers.CATALOGUE.get(item.trigger)
    problems = {} if trigger else {"trigger": _l("Choose a trigger from the list.")}
    problems.update(_message_problems(item, trigger))
    if trigger:
        problems.update(_delivery_problems(item, trigger))
    return {name: str(message) for name, message in problems.items()}


def _delivery_problems(item: NotificationInput, trigger: triggers.Trigger) -> dict:
    problems = {}
    if trigger.takes_days:
        if item.days is None:
            problems["days"] = _l("How many days?")
        elif not 0 <= item.days <= triggers.MAX_DAYS:
            problems["days"] = _l("Between 0 and %(num)d days.", num=triggers.MAX_DAYS)
    if item.audience not in [a.value for a in triggers.Audience]:
        problems["audience"] = _l("Choose a target group.")
    elif not trigger.allows(item.audience):
        problems["audience"] = _l("This trigger can only go to: %(groups)s.",
                                  groups=", ".join(str(a.label) for a in trigger.audiences))
    if item.channel not in channels.KEYS:
        problems["channel"] = _l("Choose how the message goes out.")
    elif item.audience == triggers.Audience.STUDIO and item.channel != "email":
        problems["channel"] = _l("An internal alert goes to the studio by email.")
    elif item.audience == triggers.Audience.STAFF and item.channel != "email":
        problems["channel"] = _l("Staff members get their messages by email (a user has no mobile number here).")
    if item.category and item.category not in [c.value for c in trigger.categories]:
        problems["category"] = (_l("Only a job's customers get marketing (they can consent to offers); messages to "
                                   "clients, the team or the studio are service mail.")
                                if item.category == triggers.Category.MARKETING else _l("Choose service or marketing."))
    if item.requires_approval and trigger.occurrence.is_invoices:
        problems["requires_approval"] = _l("An invoice's messages cannot be held for approval: approving is per "
                                           "job, and an invoice may have none.")
    if item.send_time not in Notification.SEND_TIMES:
        problems["send_time"] = _l("Choose a send time.")
    elif item.send_time == "at" and item.send_at is None:
        problems["send_at"] = _l("Which time of day?")
    return problems


def _message_problems(item: NotificationInput, trigger: triggers.Trigger | None) -> dict:
    problems = {}
    if item.channel not in channels.KEYS:
        return {}  # said on the channel field
    channel = channels.get(item.channel)
    if channel.text_format == "email":
        if not item.subject.strip():
            problems["subject"] = _l("An email needs a subject.")
        else:
            _collect(problems, "subject", item.subject, trigger, templating.MAX_SUBJECT)
    limit = channel.max_body
    if not item.body.strip():
        problems["body"] = _l("Write the message.")
    else:
        _collect(problems, "body", item.body, trigger, limit)
    return problems


def _collect(problems: dict, name: str, source: str, trigger: triggers.Trigger | None, limit: int) -> None:
    try:
        templating.check(source, trigger, limit)
    except templating.TemplateProblem as exc:
        problems[name] = exc.args[0]


def save_profile(studio: Studio, profile: Profile | None, data: ProfileInput) -> Profile:
    """Create or update a profile and its notifications, all or nothing.

    Existing notifications are updated in place (their ids key the scheduler's idempotency),
    new rows are inserted, and notifications left out are retired, never deleted.
    """
    problems = profile_problems(data)
    if problems:
        raise Invalid(problems)
    live = live_by_id(profile, [item.id for item in data.notifications if item.id is not None])
    if profile is None:
        profile = Profile(studio_id=studio.id)
        db.session.add(profile)
    profile.name = data.name.strip()
    profile.description = data.description.strip()
    kept = set()
    for position, item in enumerate(data.notifications):
        notification = _notification_for(profile, live, item)
        apply_input(notification, item, position)
        kept.add(notification.id)
    for notification_id, notification in live.items():
        if notification_id not in kept:
            notification.retired_at = utcnow()
    db.session.commit()
    db.session.expire(profile, ["notifications"])
    return profile


def stored_input(studio: Studio, notification_id: int) -> NotificationInput | None:
    """One live notification of the studio's, as the editor draws it when it opens."""
    notification = db.session.scalar(sa.select(Notification).join(Profile).where(
        Notification.id == notification_id, Notification.studio_id == studio.id, Notification.retired_at.is_(None),
        Profile.deleted_at.is_(None)))
    return NotificationInput.of(notification) if notification else None


def live_by_id(profile: Profile | None, ids: list[int]) -> dict[int, Notification]:
    """The profile's live notifications by id, once each of ``ids`` is one of them. ProfileChanged
    when those that are not were removed meanwhile, else UnknownNotification."""
    live = {n.id: n for n in profile.notifications} if profile is not None else {}
    if len(set(ids)) != len(ids) or not set(ids) <= set(live):
        missing = set(ids) - set(live)
        retired = set(db.session.scalars(sa.select(Notification.id).where(
            Notification.id.in_(missing), Notification.profile_id == profile.id))) if profile else set()
        raise (ProfileChanged if missing and missing == retired else UnknownNotification)(sorted(missing))
    return live


def _notification_for(profile: Profile, live: dict[int, Notification], item: NotificationInput) -> Notification:
    if item.id is None:
        notification = Notification(studio_id=profile.studio_id, profile=profile)
        db.session.add(notification)
        return notification
    return live[item.id]


def apply_input(notification: Notification, item: NotificationInput, position: int) -> None:
    """Copy checked input onto a notification, clearing fields its trigger and channel do not use."""
    trigger = triggers.get(item.trigger)
    notification.position = position
    notification.trigger = item.trigger
    notification.days = item.days if trigger.takes_days else None
    notification.audience = item.audience
    notification.channel = item.channel
    notification.send_time = item.send_time if trigger.has_send_time else "default"
    notification.send_at = item.send_at if notification.send_time == "at" else None
    notification.subject = item.subject.strip() if channels.get(item.channel).text_format == "email" else ""
    notification.body = item.body.strip()
    notification.requires_approval = item.requires_approval
    notification.enabled = item.enabled
    notification.stop_on_reply = item.stop_on_reply and trigger.reaches_customers  # only customers reply to theirs
    notification.category = item.category or trigger.category


def duplicate_profile(profile: Profile) -> Profile:
    """A copy with new notifications (new identities: the copy's messages are its own)."""
    copy = Profile(
        studio_id=profile.studio_id,
        name=(str(_l("Copy of %(name)s", name=profile.name)))[:MAX_NAME],
        description=profile.description,
    )
    db.session.add(copy)
    for notification in profile.notifications:
        clone = Notification(studio_id=profile.studio_id, profile=copy)
        item = NotificationInput.of(notification)
        apply_input(clone, item, notification.position)
        db.session.add(clone)
    db.session.commit()
    return copy


def delete_profile(profile: Profile) -> None:
    """Soft delete: the profile disappears from lists, its history stays. Refused while jobs that
    are not archived use it (their customers would silently stop getting messages)."""
    in_use = jobs.jobs_using(profile)
    if in_use.total:
        raise ProfileInUse(in_use)
    profile.deleted_at = utcnow()
    studio = db.session.get(Studio, profile.studio_id)
    if studio.default_profile_id == profile.id:
        studio.default_profile_id = None
    db.session.commit()


def plan_of(job: Job, now: datetime) -> list[tuple[str, str, bool]]:
    """(channel, when, is an offer) for each active notification of the job's profile: what a
    customer who signs up now will get, in their words (offers only with consent to them)."""
    if job.profile is None:
        return []
    passed = {n.id for n in scheduling.catching_up(job, job.profile, now)}
    return [(n.channel, triggers.get(n.trigger).customer_summary(n.days, n.id in passed),
             n.category == triggers.Category.MARKETING) for n in scheduling.for_customers(job.profile)]
