"""Studios, their users, the first-run set-up token and staff invitations."""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import smtplib
from dataclasses import dataclass
from datetime import time, timedelta
from zoneinfo import available_timezones

import phonenumbers
import sqlalchemy as sa
from babel import Locale, UnknownLocaleError
from babel.core import get_global
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeTimedSerializer
from redis.exceptions import RedisError
from werkzeug.security import check_password_hash, generate_password_hash

from . import jobs, mail_templates, mailsettings, queue, recommended, settings, team, templating
from .channels.email import send_service_mail
from .extensions import db
from .models import SetupToken, Studio, User, new_session_id, utcnow

log = logging.getLogger(__name__)

MIN_PASSWORD = 10
CURRENCIES = ("EUR", "CHF", "GBP", "USD", "DKK", "SEK", "NOK", "PLN", "CZK", "CAD", "AUD")
INVITE_VALID_FOR = timedelta(days=7)
# Hash checked when no such user exists, so a wrong email takes as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


class AccountError(ValueError):
    """Input that cannot become an account, with a message for the person typing it (a plain
    string: a lazy one would reach the page unescaped)."""

    def __init__(self, message):
        super().__init__(str(message))


@dataclass
class NewStudio:
    name: str
    time_zone: str
    locale: str
    owner_email: str
    password: str
    country: str = ""  # empty: the time zone's (``country_of``)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


def create_studio(new: NewStudio) -> User:
    """Create a studio with its owner, the recommended profiles and mail templates; returns the owner."""
    check_time_zone(new.time_zone)
    check_locale(new.locale)
    check_password(new.password)
    email = normalise_email(new.owner_email)
    if user_by_email(email) is not None:
        raise AccountError(_l("A user with this email address already exists."))
    country = new.country or country_of(new.time_zone, new.locale)
    check_country(country)
    studio = Studio(name=new.name.strip(), time_zone=new.time_zone, locale=new.locale, country=country)
    owner = User(studio=studio, email=email, role="owner", password_hash=generate_password_hash(new.password))
    db.session.add_all([studio, owner])
    db.session.flush()
    recommended.add_to(studio)
    mail_templates.add_recommended(studio)
    db.session.execute(sa.delete(SetupToken))
    db.session.commit()
    return owner


def check_time_zone(name: str) -> None:
    if name not in available_timezones():
        raise AccountError(_l("Unknown time zone."))


def country_of(time_zone: str, locale: str) -> str:
    """Where a studio in this time zone most likely is (Europe/Berlin: DE); for a zone of no one
    country (UTC), the locale's."""
    return zone_country(time_zone) or (locale.split("_")[-1].upper() if "_" in locale else "DE")


def zone_country(time_zone: str) -> str:
    """The country a time zone is in ("" for UTC and the like), from the CLDR data Babel carries."""
    zones, aliases = get_global("zone_territories"), get_global("zone_aliases")
    found = zones.get(time_zone) or zones.get(aliases.get(time_zone, ""), "")
    return found if found in phonenumbers.SUPPORTED_REGIONS else ""  # UTC is "ZZ"


def check_country(code: str) -> None:
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise AccountError(_l("Choose the country your studio is in."))


def check_locale(code: str) -> None:
    try:
        Locale.parse(code)
    except (UnknownLocaleError, ValueError):
        raise AccountError(_l("Unknown locale.")) from None


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(_l("Use at least %(num)d characters.", num=MIN_PASSWORD))


def user_by_email(email: str) -> User | None:
    """The signed-up user with this address (invitations not yet accepted have no password)."""
    return db.session.scalar(sa.select(User).where(User.email == normalise_email(email),
                                                   User.password_hash.is_not(None)))


def authenticate(email: str, password: str) -> User | None:
    user = user_by_email(email)
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


def instance_is_empty() -> bool:
    return db.session.scalar(sa.select(sa.func.count(Studio.id))) == 0


def issue_setup_token() -> str | None:
    """A fresh one-time token for the set-up page, or None once a studio exists."""
    if not instance_is_empty():
        return None
    token = secrets.token_urlsafe(16)
    db.session.execute(sa.delete(SetupToken))
    db.session.add(SetupToken(token_hash=_digest(token)))
    db.session.commit()
    return token


def setup_token_valid(token: str) -> bool:
    hashes = db.session.scalars(sa.select(SetupToken.token_hash)).all()
    return any(hmac.compare_digest(_digest(token), h) for h in hashes)


def invite_staff(studio: Studio, email: str, name: str = "") -> tuple[User, str]:
    """Create an invited staff member; returns the user and the token for their link.

    The invitation is made, and looks the same, whether or not the address already has an
    account in another studio: whether an address is known on this instance is no studio's
    business. That person is told by ``send_invitation``, and ``accept_invite`` refuses."""
    email = normalise_email(email)
    if db.session.scalar(sa.select(User.id).where(User.studio_id == studio.id, User.email == email)):
        raise AccountError(_l("%(email)s is already a user of your studio.", email=email))
    token = secrets.token_urlsafe(24)
    user = User(studio=studio, email=email, name=name.strip(), role="staff",
                invite_token_hash=_digest(token), invited_at=utcnow())
    db.session.add(user)
    db.session.commit()
    return user, token


def has_account_elsewhere(user: User) -> bool:
    """An invited user whose address already signs in to another studio."""
    other = user_by_email(user.email)
    return other is not None and other.id != user.id


def find_invited(token: str) -> User | None:
    user = db.session.scalar(sa.select(User).where(User.invite_token_hash == _digest(token)))
    if user is None or user.invited_at + INVITE_VALID_FOR < utcnow():
        return None
    return user


def accept_invite(user: User, name: str, password: str) -> None:
    if has_account_elsewhere(user):
        raise AccountError(_l("This address already has a Shutterbell account with another studio. Ask %(studio)s "
                              "to invite another of your addresses.", studio=user.studio.name))
    user.name = name.strip()
    user.invite_token_hash = None
    try:
        set_password(user, password)
    except sa.exc.IntegrityError:  # the address signed up elsewhere a moment ago
        db.session.rollback()
        raise AccountError(_l("This address already has a Shutterbell account with another studio.")) from None


def set_password(user: User, password: str) -> None:
    """A new password ends every session of the user's (sign in again afterwards)."""
    check_password(password)
    user.password_hash = generate_password_hash(password)
    end_sessions(user)


RESET_VALID_FOR = timedelta(hours=1)


def reset_token(user: User) -> str:
    """A signed token for ``/reset/<token>``: it expires after RESET_VALID_FOR and works once,
    because it names the user's password and session as they are now; a reset changes both."""
    return _reset_signer().dumps({"user": user.id, "state": _reset_state(user)})


def user_for_reset(token: str) -> User | None:
    try:
        data = _reset_signer().loads(token, max_age=int(RESET_VALID_FOR.total_seconds()))
    except BadSignature:  # includes an expired one
        return None
    user = db.session.get(User, data["user"])  # signed by us: the shape reset_token gave it
    return user if user is not None and hmac.compare_digest(_reset_state(user), data["state"]) else None


def _reset_signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.current().secret_key, salt="shutterbell-password-reset")


def _reset_state(user: User) -> str:
    return hashlib.sha256(f"{user.session_id}|{user.password_hash}".encode()).hexdigest()[:24]


def request_password_reset(user: User, reset_url: str) -> bool:
    """Hand the reset email to a worker; False (and logged) when Redis cannot take it: the page
    answers the same either way."""
    try:
        queue.current().send_password_reset(user.id, reset_url)
    except (RedisError, OSError):
        log.exception("Could not hand the password reset email to a worker")
        return False
    return True


def send_password_reset(user: User, reset_url: str) -> str:
    """Returns how it went out (``INSTANCE``, ``STUDIO``) or "" when it could not. An owner's link
    never goes through the studio's account: its provider keeps a copy in the Sent folder, which
    staff may read, and the link would make them owner."""
    minutes = int(RESET_VALID_FOR.total_seconds() // 60)
    body = (f"Hello,\n\nsomeone asked to reset the Shutterbell password of {user.email} ({user.studio.name}). "
            f"Choose a new one here; the link works once, for {minutes} minutes:\n\n{reset_url}\n\n"
            "If you did not ask for this, ignore this email: your password stays as it is.\n")
    return send_about_the_app(user.studio, user.email, "Reset your Shutterbell password", body,
                              through_studio=not user.is_owner)


def owners(studio: Studio) -> list[User]:
    """Who can change the studio's settings."""
    return list(db.session.scalars(sa.select(User).where(User.studio_id == studio.id, User.role == "owner",
                                                         User.password_hash.is_not(None)).order_by(User.id)))


def end_sessions(user: User) -> None:
    """Sign the user out on every device: their sessions and remember cookies name the old id."""
    user.session_id = new_session_id()
    db.session.commit()


def remove_user(studio: Studio, user_id: int) -> str:
    """Remove a staff member; returns their address."""
    user = db.session.scalar(sa.select(User).where(User.studio_id == studio.id, User.id == user_id))
    if user is None:
        raise LookupError(user_id)
    if user.is_owner:
        raise AccountError(_l("The studio owner cannot be removed."))
    email = user.email
    team.forget_user(user)
    db.session.delete(user)
    db.session.commit()
    return email


def list_users(studio: Studio) -> list[User]:
    return db.session.scalars(
        sa.select(User).where(User.studio_id == studio.id).order_by(User.role, User.email)
    ).all()


def send_invitation(user: User, invite_url: str) -> str:
    """Email the invitation; returns how it went out (``INSTANCE``, ``STUDIO``) or "" when it
    could not (the owner still sees the link and can pass it on). An address with an account in
    another studio is told that instead of getting a link that cannot work."""
    studio = user.studio
    if has_account_elsewhere(user):
        return send_about_the_app(studio, user.email, f"{studio.name} tried to invite you to Shutterbell", (
            f"Hello,\n\n{studio.name} tried to invite this address to Shutterbell, but it already has an account "
            f"with another studio here. If you want to join {studio.name}, ask them to invite another of your "
            "addresses. If you do not know them, ignore this email.\n"))
    return send_about_the_app(studio, user.email, f"You are invited to {studio.name} on Shutterbell", (
        f"Hello,\n\n{studio.name} invites you to Shutterbell. Choose your password here "
        f"(the link works for {INVITE_VALID_FOR.days} days):\n\n{invite_url}\n"))


INSTANCE, STUDIO = "instance", "studio"  # what carried a message about the app itself


def send_about_the_app(studio: Studio, recipient: str, subject: str, body: str, through_studio: bool = True) -> str:
    """The instance's own mail server (MAIL_SERVER) when it has one; otherwise the studio's own
    sending account, which its owner set up and tested. Returns which carried it, "" if neither."""
    if settings.current().instance_mail:
        return INSTANCE if _send_instance_mail(recipient, subject, body) else ""
    if through_studio and send_service_mail(mailsettings.account_of(studio), studio.name, recipient, subject, body,
                                            utcnow()):
        return STUDIO
    return ""


def _send_instance_mail(recipient: str, subject: str, body: str) -> bool:
    from flask_mail import Message

    from .extensions import mail

    try:
        mail.send(Message(subject=subject, recipients=[recipient], body=body))
    except (OSError, smtplib.SMTPException):
        return False
    return True


@dataclass
class StudioSettings:
    name: str
    time_zone: str
    locale: str
    country: str
    currency: str
    default_send_time: time
    morning_time: time
    evening_time: time
    default_profile_id: int | None = None
    double_opt_in: bool = True
    confirmation_subject: str = ""
    confirmation_body: str = ""


def update_studio(studio: Studio, changes: StudioSettings) -> None:
    """Change a studio's name, time zone, locale, country and send times. Messages not yet made follow."""
    check_time_zone(changes.time_zone)
    check_locale(changes.locale)
    check_country(changes.country)
    if changes.currency not in CURRENCIES:
        raise AccountError(_l("Unknown currency."))
    if not changes.name.strip():
        raise AccountError(_l("Give the studio a name."))
    if changes.morning_time >= changes.evening_time:
        raise AccountError(_l("Morning must come before evening."))
    if changes.default_profile_id is not None and jobs.usable_profile(studio, changes.default_profile_id) is None:
        raise AccountError(_l("Choose one of your communication profiles."))
    for label, source, limit in ((_l("Confirmation subject"), changes.confirmation_subject, templating.MAX_SUBJECT),
                                 (_l("Confirmation text"), changes.confirmation_body, 5000)):
        try:
            templating.check(source, None, limit)
        except templating.TemplateProblem as problem:
            raise AccountError(f"{label}: {problem}") from None
    for name, value in vars(changes).items():
        setattr(studio, name, value.strip() if isinstance(value, str) else value)
    db.session.commit()
