"""Text messages through a studio's account at an SMS provider: a Twilio-compatible REST API
(where it lives is instance configuration, ``SMS_API_URL``) or, for development, the log. The
settings page, its connection test and the worker use the same client; what a failure means is
the diagnostics module's call. Texts wait through the studio's quiet hours."""
from __future__ import annotations

import base64
import http.client
import json
import logging
import secrets
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from . import crypto, diagnostics, mailcheck, mailsettings, settings
from .diagnostics import DeliveryFailure
from .extensions import db
from .models import SmsAccount, Studio

log = logging.getLogger(__name__)
API = "/2010-04-01/Accounts"
SEND_TIMEOUT = 30.0  # seconds per request to the provider, in the worker


@dataclass
class SmsInput:
    account_sid: str
    token: str  # empty: keep the saved one
    from_number: str
    quiet_start: time
    quiet_end: time


@dataclass(frozen=True)
class Provider:
    backend: str  # "twilio" or "log"
    base_url: str

    @classmethod
    def configured(cls) -> Provider:
        instance = settings.current()
        return cls(instance.sms_gateway, instance.sms_api_url)


class Client:
    """One studio's provider account. Every call raises DeliveryFailure with its phase."""

    def __init__(self, provider: Provider, account_sid: str, token: str, timeout: float = 15.0):
        self.provider, self.account_sid, self.token, self.timeout = provider, account_sid, token, timeout

    def account_status(self) -> str:
        if self.provider.backend == "log":
            return "active (log only: nothing is sent)"
        return self._call("GET", f"{API}/{self._sid}.json", phase="auth").get("status", "")

    def owns_number(self, number: str) -> bool:
        """Is ``number`` one of the account's own? (An alphanumeric sender id cannot be looked up.)"""
        if self.provider.backend == "log" or not number.startswith("+"):
            return True
        found = self._call("GET", f"{API}/{self._sid}/IncomingPhoneNumbers.json?"
                           + urllib.parse.urlencode({"PhoneNumber": number}), phase="from_number")
        return bool(found.get("incoming_phone_numbers"))

    def send(self, from_number: str, to: str, body: str) -> str:
        """Hand one text to the provider; returns its id for the message."""
        if self.provider.backend == "log":
            log.info("SMS (log only) from %s to %s: %s", from_number, to, body)
            return f"LOG{secrets.token_hex(8)}"
        answer = self._call("POST", f"{API}/{self._sid}/Messages.json", phase="send",
                            form={"From": from_number, "To": to, "Body": body})
        return answer.get("sid", "")

    @property
    def _sid(self) -> str:
        return urllib.parse.quote(self.account_sid, safe="")

    def _call(self, method: str, path: str, phase: str, form: dict | None = None) -> dict:
        credentials = base64.b64encode(f"{self.account_sid}:{self.token}".encode()).decode()
        request = urllib.request.Request(
            self.provider.base_url + path, method=method,
            data=urllib.parse.urlencode(form).encode() if form is not None else None,
            headers={"Authorization": f"Basic {credentials}", "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            raise DeliveryFailure(_diagnose_answer(error), phase) from None
        except urllib.error.URLError as error:
            reason = error.reason if isinstance(error.reason, BaseException) else OSError(str(error.reason))
            host = urllib.parse.urlsplit(self.provider.base_url).hostname or ""
            raise DeliveryFailure(diagnostics.classify_exception(reason, "sms", "connect", host), "connect") from None
        except (TimeoutError, socket.timeout, ConnectionError, http.client.HTTPException) as error:
            # The request went out and no answer came back: the provider may have taken the text.
            if phase == "send":
                raise DeliveryFailure(diagnostics.Diagnosis(diagnostics.CAUSES["sms_outcome_unknown"],
                                                            f"{type(error).__name__}: {error}"[:500]), "unknown") from None
            raise DeliveryFailure(diagnostics.classify_exception(error, "sms", "connect"), "connect") from None
        except ValueError:  # not JSON: not a Twilio-compatible API at this address
            raise DeliveryFailure(diagnostics.Diagnosis(diagnostics.CAUSES["other"],
                                                        "The SMS provider's answer was not JSON."), phase) from None


def _diagnose_answer(error: urllib.error.HTTPError) -> diagnostics.Diagnosis:
    try:
        answer = json.loads(error.read() or b"{}")
    except ValueError:
        answer = {}
    return diagnostics.classify_sms(error.code, answer.get("code"), str(answer.get("message") or error.reason))


def check(given: SmsInput, token: str, provider: Provider, timeout: float = 12.0) -> mailcheck.CheckResult:
    """Sign in to the provider and make sure the sending number is the account's; sends nothing."""
    result = mailcheck.CheckResult()
    client = Client(provider, given.account_sid, token, min(timeout, mailcheck.MAX_TIMEOUT))
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
    if given.token:
        account.credentials = crypto.seal({"token": given.token})
    elif given.account_sid != account.account_sid:
        account.credentials = None
    account.account_sid, account.from_number = given.account_sid, given.from_number
    account.quiet_start, account.quiet_end = given.quiet_start, given.quiet_end
    if checked_ok:
        record_success(account, now)
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
    return db.session.scalar(sa.select(SmsAccount).where(SmsAccount.studio_id == studio.id,
                                                         SmsAccount.failing_since.is_not(None)))


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
    """The worker's side: one studio's texts of a batch, through one client."""

    def __init__(self, account: SmsAccount, provider: Provider, timeout: float | None = None):
        self.account = account
        self.client = Client(provider, account.account_sid, kept_token(account, account.account_sid),
                             timeout or SEND_TIMEOUT)
        self.broken = False  # the provider could not be reached: the rest of the batch waits

    def __enter__(self) -> SmsSession:
        return self

    def __exit__(self, *exc) -> None:
        pass

    def send(self, message, unsubscribe: str, studio_name: str, now: datetime) -> None:
        try:
            message.message_id = self.client.send(self.account.from_number, message.recipient, message.body)
        except DeliveryFailure as failure:
            self.broken = failure.phase == "connect"
            raise

    def pause(self, diagnosis: diagnostics.Diagnosis, now: datetime) -> None:
        record_failure(self.account, diagnosis, now)
        db.session.commit()
