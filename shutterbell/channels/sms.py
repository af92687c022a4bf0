"""Text messages, sent through each studio's account at an SMS gateway: which gateway is instance
configuration (``SMS_BACKEND``, ``GATEWAYS``), the account and sending number are the studio's
(Settings → Email → Text messages). The settings page, its connection test and the worker use the
same gateway; what a failure means is the diagnostics module's call. Texts wait through the
studio's quiet hours."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import Protocol
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from .. import crypto, diagnostics, mailcheck, mailsettings, settings, suppression
from ..config import ConfigError
from ..diagnostics import DeliveryFailure
from ..extensions import db
from ..models import Customer, SmsAccount, Studio
from . import Channel, sms_log, twilio

SEND_TIMEOUT = 30.0  # seconds per request to the gateway, in the worker


class Gateway(Protocol):
    """One studio's account at an SMS gateway. Every call raises DeliveryFailure with its phase."""

    label: str
    notice: str  # said on the settings page, e.g. that nothing is really sent

    def __init__(self, api_url: str, account_sid: str, token: str, timeout: float): ...

    def account_status(self) -> str: ...

    def owns_number(self, number: str) -> bool: ...

    def send(self, from_number: str, to: str, body: str) -> str:
        """Hand one text over; returns the gateway's id for it."""


GATEWAYS: dict[str, type[Gateway]] = {"twilio": twilio.Twilio, "log": sms_log.LogOnly}  # SMS_BACKEND: gateway


def gateway_class(name: str) -> type[Gateway]:
    try:
        return GATEWAYS[name]
    except KeyError:
        raise ConfigError(f"SMS_BACKEND must be one of {', '.join(GATEWAYS)}; got {name!r}.") from None


def configured_gateway() -> type[Gateway]:
    """The instance's gateway (``SMS_BACKEND``)."""
    return gateway_class(settings.current().sms_gateway)


def gateway(account_sid: str, token: str, timeout: float) -> Gateway:
    """The instance's gateway, signed in as one studio's account."""
    return configured_gateway()(settings.current().sms_api_url, account_sid, token, timeout)


@dataclass
class SmsInput:
    account_sid: str
    token: str  # empty: keep the saved one
    from_number: str
    quiet_start: time
    quiet_end: time


def check(given: SmsInput, token: str, timeout: float = 12.0) -> mailcheck.CheckResult:
    """Sign in to the gateway and make sure the sending number is the account's; sends nothing."""
    result = mailcheck.CheckResult()
    client = gateway(given.account_sid, token, min(timeout, mailcheck.MAX_TIMEOUT) / 2)  # two requests share it
    try:
        status = client.account_status()
        result.steps.append(mailcheck.Step("auth", True, f"{given.account_sid}: {status}"))
        if not client.owns_number(given.from_number):
            raise DeliveryFailure(diagnostics.Diagnosis(diagnostics.CAUSES["sms_sender_invalid"],
                                                        f"{given.from_number} is not a number of this account."),
                                  "from_number")
        result.steps.append(mailcheck.Step("from_number", True, given.from_number))
    except DeliveryFailure as failure:
        result.diagnosis = failure.diagnosis
        result.steps.append(mailcheck.Step(failure.phase, False, failure.diagnosis.detail))
    return result


# ---- the studio's account -----------------------------------------------------------------------

def account_of(studio: Studio) -> SmsAccount:
    account = db.session.scalar(sa.select(SmsAccount).where(SmsAccount.studio_id == studio.id))
    return account or SmsAccount(studio_id=studio.id, account_sid="", from_number="", quiet_start=time(21),
                                 quiet_end=time(8), failure_cause="", failure_detail="")


def kept_token(account: SmsAccount, account_sid: str) -> str:
    """The saved token, when the account SID stays the same."""
    if account.credentials and account_sid == account.account_sid:
        return crypto.unseal(account.credentials).get("token", "")
    return ""


def token_for(account: SmsAccount, given: SmsInput) -> str:
    return given.token or kept_token(account, given.account_sid)


def save(account: SmsAccount, given: SmsInput, checked_ok: bool, now: datetime) -> SmsAccount:
    """Store the settings; as mailsettings.save_smtp, another account saved untested has no
    successful test yet."""
    moved = not is_saved(account, given)
    if given.token:
        account.credentials = crypto.seal({"token": given.token})
    elif given.account_sid != account.account_sid:
        account.credentials = None
    account.account_sid, account.from_number = given.account_sid, given.from_number
    account.quiet_start, account.quiet_end = given.quiet_start, given.quiet_end
    if checked_ok:
        record_success(account, now)
    elif moved:
        account.checked_at = None
    db.session.add(account)
    db.session.commit()
    return account


def remove(account: SmsAccount) -> None:
    """No more texts: the account and its token go; texts due from now on are skipped."""
    if account.id is not None:
        db.session.delete(account)
        db.session.commit()


def is_saved(account: SmsAccount, given: SmsInput) -> bool:
    return account.id is not None and (account.account_sid, account.from_number) == (
        given.account_sid, given.from_number) and given.token in ("", kept_token(account, given.account_sid))


def resume(account: SmsAccount, now: datetime) -> None:
    record_success(account, now)
    db.session.commit()


def record_success(account: SmsAccount, now: datetime) -> None:
    account.checked_at, account.failing_since = now, None
    account.failure_cause = account.failure_detail = ""


def record_failure(account: SmsAccount, diagnosis: diagnostics.Diagnosis, now: datetime) -> None:
    """Texts fail on the account (token, sending number): they pause until a test passes. The
    caller commits."""
    if account.failing_since is None:
        mailsettings.note_problem(account.studio_id, "sms", "send", diagnosis, now)
        account.failing_since = now
    account.failure_cause, account.failure_detail = diagnosis.key, diagnosis.detail[:500]


def failing(studio: Studio) -> SmsAccount | None:
    return db.session.scalar(sa.select(SmsAccount).where(*failing_where(studio.id)))


def failing_where(studio_id: int) -> tuple:
    return SmsAccount.studio_id == studio_id, SmsAccount.failing_since.is_not(None)


def in_quiet_hours(now: datetime, time_zone: str, start: time, end: time) -> bool:
    """Is it night for the studio? Quiet hours may run over midnight (21:00–08:00); equal start
    and end mean none."""
    local = now.astimezone(ZoneInfo(time_zone)).time()
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def may_text(account: SmsAccount, studio: Studio, now: datetime) -> bool:
    """Checked again by the worker: a batch handed over at 20:59 may be claimed after 21:00."""
    return account.configured and account.failing_since is None and not in_quiet_hours(
        now, studio.time_zone, account.quiet_start, account.quiet_end)


def studios_ready(now: datetime) -> list[int]:
    """Studios whose texts may go now: a working provider account, and not their quiet hours."""
    rows = db.session.execute(sa.select(SmsAccount, Studio.time_zone).join(Studio, Studio.id == SmsAccount.studio_id)
                              .where(SmsAccount.failing_since.is_(None), SmsAccount.account_sid != "",
                                     SmsAccount.credentials.is_not(None), SmsAccount.from_number != "")).all()
    return [account.studio_id for account, time_zone in rows
            if not in_quiet_hours(now, time_zone, account.quiet_start, account.quiet_end)]


class SmsSession:
    """The worker's side: one studio's texts of a batch, through one gateway client."""

    def __init__(self, account: SmsAccount):
        self.account = account
        self.client = gateway(account.account_sid, kept_token(account, account.account_sid), SEND_TIMEOUT)
        self.broken = False  # the provider could not be reached: the rest of the batch waits

    def __enter__(self) -> SmsSession:
        return self

    def __exit__(self, *exc) -> None:
        pass

    def close(self) -> None:
        pass

    def send(self, message, unsubscribe: str, studio_name: str, now: datetime) -> None:
        try:
            message.message_id = self.client.send(self.account.from_number, message.recipient, message.body)
        except DeliveryFailure as failure:
            self.broken = failure.phase == "connect"
            if failure.diagnosis.key == "sms_recipient_unsubscribed":  # they replied STOP: never again
                suppression.suppress(message.studio_id, "sms", message.recipient, "stop", now)
            raise

    def pause(self, diagnosis: diagnostics.Diagnosis, now: datetime) -> None:
        record_failure(self.account, diagnosis, now)
        db.session.commit()


class Sms(Channel):
    key = "sms"
    label = _l("SMS")
    name = _l("Text message")
    consent_label = _l("Text messages")
    text_format = "text"
    max_body = 1_600  # ten segments: more is a letter, not a text message
    no_account_reason = _l("No text message account was set up when this text fell due.")

    def address(self, customer: Customer) -> str | None:
        return customer.phone

    def address_column(self) -> sa.ColumnElement:
        return Customer.phone

    def studios_with_account(self) -> sa.Select:
        return sa.select(SmsAccount.studio_id).where(SmsAccount.account_sid != "", SmsAccount.credentials.is_not(None),
                                                     SmsAccount.from_number != "")

    def studios_ready(self, now: datetime) -> list[int]:
        return studios_ready(now)

    def open_session(self, studio: Studio, now: datetime) -> SmsSession | None:
        account = account_of(studio)
        # Checked again by the worker: a batch handed over at 20:59 may be claimed after 21:00.
        return SmsSession(account) if may_text(account, studio, now) else None


CHANNEL = Sms()
