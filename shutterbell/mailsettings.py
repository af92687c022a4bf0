"""A studio's mail account: presets for common providers, saving SMTP settings (the password
sealed, kept when the field is left empty), and the settings the connection check and the
sender use."""
from __future__ import annotations

import functools
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from flask_babel import lazy_gettext as _l

from . import alerts, crypto, diagnostics, mailcheck, oauth, settings
from .extensions import db
from .models import MailAccount, MailProblem, Message, SmsAccount, Studio


# Inbox failures only the owner can fix: the sync (and filing Sent copies) waits for a passing
# test instead of signing in with a wrong password every two minutes (providers lock accounts
# that do).
OWNER_MUST_FIX = ("wrong_password", "app_password_required", "auth_method_disabled", "oauth_grant_revoked",
                  "account_locked_or_web_login_required", "imap_disabled", "private_address")


@dataclass(frozen=True)
class Preset:
    label: str
    smtp: tuple[str, int, str]  # host, port, security
    imap: tuple[str, int, str]
    note: str = ""
    keeps_sent: bool = False  # the provider files mail sent through its SMTP in the Sent folder itself


APP_PASSWORD = _l("Sign in with an app password, not your normal password: turn on 2-step verification, "
                  "then create an app password in your account's security settings.")

PRESETS = {
    "gmail": Preset("Gmail", ("smtp.gmail.com", 587, "starttls"), ("imap.gmail.com", 993, "ssl"), APP_PASSWORD,
                    keeps_sent=True),
    "google_workspace": Preset("Google Workspace", ("smtp.gmail.com", 587, "starttls"), ("imap.gmail.com", 993, "ssl"),
                               _l("Use an app password (2-step verification on). Your Workspace admin must allow "
                                  "IMAP and app passwords for your account."), keeps_sent=True),
    "microsoft365": Preset("Outlook / Microsoft 365", ("smtp.office365.com", 587, "starttls"),
                           ("outlook.office365.com", 993, "ssl"),
                           _l("Your Microsoft 365 admin must turn on “Authenticated SMTP” for this mailbox. "
                              "Microsoft is switching password sign-in for SMTP off for existing tenants at the "
                              "end of December 2026: use “Sign in with Microsoft” above where this instance "
                              "offers it, or else an SMTP relay service (or another provider)."), keeps_sent=True),
    "yahoo": Preset("Yahoo Mail", ("smtp.mail.yahoo.com", 465, "ssl"), ("imap.mail.yahoo.com", 993, "ssl"),
                    APP_PASSWORD),
    "icloud": Preset("iCloud Mail", ("smtp.mail.me.com", 587, "starttls"), ("imap.mail.me.com", 993, "ssl"),
                     _l("iCloud only accepts an app-specific password (appleid.apple.com → Sign-In and "
                        "Security → App-Specific Passwords). The username is your full iCloud address.")),
    "fastmail": Preset("Fastmail", ("smtp.fastmail.com", 465, "ssl"), ("imap.fastmail.com", 993, "ssl"),
                       _l("Create an app password in Fastmail (Settings → Privacy & Security → App passwords).")),
    "zoho": Preset("Zoho Mail", ("smtp.zoho.com", 465, "ssl"), ("imap.zoho.com", 993, "ssl"),
                   _l("Accounts in the EU data centre use smtp.zoho.eu and imap.zoho.eu. With two-factor "
                      "authentication on, use an application-specific password.")),
    "godaddy": Preset("GoDaddy Workspace Email", ("smtpout.secureserver.net", 465, "ssl"),
                      ("imap.secureserver.net", 993, "ssl"),
                      _l("If your GoDaddy email is Microsoft 365 (“Professional Email powered by Microsoft”), "
                         "choose Outlook / Microsoft 365 instead.")),
    "ionos": Preset("IONOS", ("smtp.ionos.com", 587, "starttls"), ("imap.ionos.com", 993, "ssl"),
                    _l("Accounts with IONOS Germany use smtp.ionos.de and imap.ionos.de.")),
}


# What each provider lets an account send, with a margin: per minute and per rolling 24 hours.
# Exchange Online allows 30 a minute and 10,000 a day; Google Workspace 2,000 a day; consumer
# Gmail about 500. Providers change these; the studio can edit them.
SENDING_LIMITS = {
    "gmail": (20, 450), "google_workspace": (30, 1800), "microsoft365": (30, 9000), "yahoo": (20, 450),
    "icloud": (20, 900), "fastmail": (30, 3000), "zoho": (20, 450), "godaddy": (20, 450), "ionos": (30, 2000),
}


@dataclass
class SmtpInput:
    host: str
    port: int
    security: str
    username: str
    password: str  # empty: keep the saved one
    from_address: str
    sender_name: str
    reply_to: str
    limit_per_minute: int | None = None
    limit_per_day: int | None = None


def tls_context() -> ssl.SSLContext:
    """The system's trusted CAs, plus the instance's own (``MAIL_CA_FILE``) if it has one."""
    return _tls_context(settings.current().mail_ca_file)


@functools.lru_cache(maxsize=4)
def _tls_context(ca_file: str) -> ssl.SSLContext:
    """Loading the system's CAs takes ~30 ms: once per process, not per batch or test."""
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


@dataclass
class ImapInput:
    host: str
    port: int
    security: str
    username: str
    password: str  # empty: keep the saved one (or use the sending password, same username)
    folders: list[str]
    sent_copy: str = "auto"  # MailAccount.SENT_COPY


def check(settings: mailcheck.SmtpSettings, timeout: float, send_to: str = "") -> mailcheck.CheckResult:
    return mailcheck.check_smtp(settings, timeout=timeout, context=tls_context(), send_to=send_to,
                                allow_private=private_hosts_allowed())


def check_imap(settings: mailcheck.ImapSettings, timeout: float) -> mailcheck.CheckResult:
    return mailcheck.check_imap(settings, timeout=timeout, context=tls_context(),
                                allow_private=private_hosts_allowed())


def private_hosts_allowed() -> bool:
    """May studios' mail servers be on a private network or this machine? ``MAIL_PRIVATE_HOSTS``:
    "allow", "forbid", or "auto" (the default): allowed while the instance holds one studio (a
    self-hosted instance; its server may be on the LAN), forbidden once it hosts several."""
    setting = settings.current().mail_private_hosts
    if setting == "auto":
        return db.session.scalar(sa.select(sa.func.count()).select_from(Studio)) <= 1
    return setting == "allow"


def account_of(studio: Studio) -> MailAccount:
    """The studio's account row, or an unsaved blank one."""
    account = db.session.scalar(db.select(MailAccount).where(MailAccount.studio_id == studio.id))
    return account or MailAccount(studio_id=studio.id, smtp_host="", smtp_port=587, smtp_security="starttls",
                                  smtp_username="", from_address="", sender_name="", reply_to="",
                                  imap_host="", imap_port=993, imap_security="ssl", imap_username="",
                                  imap_folders="INBOX")


def failing(studio: Studio) -> MailAccount | None:
    """The studio's account while its sending or its inbox sync is failing (``smtp_failing_since``,
    ``imap_failing_since``)."""
    return db.session.scalar(db.select(MailAccount).where(*failing_where(studio.id)))


def failing_where(studio_id: int) -> tuple:
    return MailAccount.studio_id == studio_id, sa.or_(MailAccount.smtp_failing_since.is_not(None),
                                                      MailAccount.imap_failing_since.is_not(None))


def folders_of(account: MailAccount) -> list[str]:
    return [name.strip() for name in account.imap_folders.split(",") if name.strip()]


@dataclass(frozen=True)
class Endpoint:
    """Where a password goes: a saved one is only ever sent back to the same place."""
    host: str
    port: int
    security: str
    username: str


def endpoint(account: MailAccount, service: str) -> Endpoint:
    return Endpoint(*(getattr(account, f"{service}_{name}") for name in ("host", "port", "security", "username")))


def endpoint_of(given: SmtpInput | ImapInput) -> Endpoint:
    return Endpoint(given.host, given.port, given.security, given.username)


def kept_password(account: MailAccount, service: str, wanted: Endpoint) -> str:
    """The saved password that goes with ``wanted`` when the password field is left empty: the
    service's own, for the same server, security and user; or, for IMAP, the sending password when
    both sign in as the same user at the same provider. Typing another server asks for the password
    again: a saved one must not be sent somewhere new (a borrowed session could collect it)."""
    own = getattr(account, f"{service}_credentials")
    if own and wanted == endpoint(account, service):
        return crypto.unseal(own).get("password", "")
    if service == "imap" and account.smtp_credentials and wanted.username == account.smtp_username \
            and wanted.security != "none" and _same_provider(account, wanted):
        return crypto.unseal(account.smtp_credentials).get("password", "")
    return ""


def can_sign_in(account: MailAccount, service: str, wanted: Endpoint) -> bool:
    """Is there a saved way to sign in to ``wanted`` without typing a password: the saved
    password that goes with it, or the provider's grant for the saved server and user?"""
    if kept_password(account, service, wanted):
        return True
    source = _inbox_token_source(account, wanted) if service == "imap" else _token_source(account, "smtp", wanted)
    return source is not None


def _same_provider(account: MailAccount, wanted: Endpoint) -> bool:
    """The saved inbox server, or the IMAP server of the preset whose SMTP server is saved."""
    if account.imap_host and (wanted.host, wanted.port, wanted.security) == (
            account.imap_host, account.imap_port, account.imap_security):
        return True
    return any(p.smtp[0] == account.smtp_host and p.imap == (wanted.host, wanted.port, wanted.security)
               for p in PRESETS.values())


def has_password(account: MailAccount, service: str) -> bool:
    """A password is saved (not a provider's grant, which the page shows apart)."""
    sealed = getattr(account, f"{service}_credentials")
    return bool(sealed) and "password" in crypto.unseal(sealed)


def smtp_settings(account: MailAccount, given: SmtpInput | None = None) -> mailcheck.SmtpSettings:
    """What the check and the sender connect with: the given (unsaved) values, falling back to the
    saved password when the field was left empty."""
    if given is None:
        return mailcheck.SmtpSettings(account.smtp_host, account.smtp_port, account.smtp_security,
                                      account.smtp_username, kept_password(account, "smtp", endpoint(account, "smtp")),
                                      account.from_address, _token_source(account, "smtp", endpoint(account, "smtp")))
    return mailcheck.SmtpSettings(given.host, given.port, given.security, given.username,
                                  given.password or kept_password(account, "smtp", endpoint_of(given)),
                                  given.from_address, None if given.password else _token_source(account, "smtp",
                                                                                   endpoint_of(given)))


def _token_source(account: MailAccount, service: str, wanted: Endpoint):
    """Sign in with the service's saved grant (``oauth``), where the saved server and user are the
    ones wanted."""
    if wanted != endpoint(account, service) or oauth.grant_of(account, service) is None:
        return None

    def token() -> str:
        try:
            return oauth.access_token(account, service)
        except oauth.GrantFailed as failure:
            raise diagnostics.DeliveryFailure(failure.diagnosis, "auth") from None
    return token


def oauth_settings(account: MailAccount, service: str, provider: str, grant: dict, address: str):
    """What sending or the inbox would sign in with after a sign-in at the provider, to test
    before saving."""
    host, port, security = getattr(oauth.PROVIDERS[provider], service)

    def token() -> str:  # the grant is not saved yet: nothing to refresh
        return grant["access_token"]
    if service == "imap":  # another mailbox: its INBOX (the saved folders are another mailbox's)
        folders = folders_of(account) if address == account.imap_username else ["INBOX"]
        return mailcheck.ImapSettings(host, port, security, address, "", tuple(folders), token)
    return mailcheck.SmtpSettings(host, port, security, address, "", address, token)


def save_oauth(account: MailAccount, service: str, provider: str, grant: dict, address: str,
               now: datetime) -> MailAccount:
    """Sending (or the inbox) signs in with the provider from now on (a test with the grant
    passed): its server, the mailbox's address as the user, the grant sealed; what was paused
    goes on."""
    host, port, security = getattr(oauth.PROVIDERS[provider], service)
    if service == "imap" and address != account.imap_username:
        account.imap_folders = "INBOX"  # as tested (oauth_settings): the folders saved were another mailbox's
    setattr(account, f"{service}_host", host)
    setattr(account, f"{service}_port", port)
    setattr(account, f"{service}_security", security)
    setattr(account, f"{service}_username", address)
    setattr(account, f"{service}_credentials", crypto.seal({"oauth": grant}))
    if service == "smtp":
        account.from_address = address
        if (signed_in_with(account, "imap") or ("",))[0] == "smtp":
            record_success(account, "imap", now)  # the inbox shares this sign-in: its next sync tries again
    return _saved(account, service, True, now, moved=False)


def signed_in_with(account: MailAccount, service: str) -> tuple[str, dict] | None:
    """The provider's grant ``service`` signs in with, as (the service it was saved for, the
    grant): the inbox shares the sending one when it is the same mailbox at that provider."""
    own = oauth.grant_of(account, service)
    if own is not None:
        return service, own
    if service == "imap" and _inbox_token_source(account, endpoint(account, "imap")) is not None:
        return "smtp", oauth.grant_of(account, "smtp")
    return None


def imap_settings(account: MailAccount, given: ImapInput | None = None) -> mailcheck.ImapSettings:
    if given is None:
        wanted = endpoint(account, "imap")
        return mailcheck.ImapSettings(account.imap_host, account.imap_port, account.imap_security,
                                      account.imap_username, kept_password(account, "imap", wanted),
                                      tuple(folders_of(account)), _inbox_token_source(account, wanted))
    return mailcheck.ImapSettings(given.host, given.port, given.security, given.username,
                                  given.password or kept_password(account, "imap", endpoint_of(given)),
                                  tuple(given.folders), None if given.password else _inbox_token_source(
                                      account, endpoint_of(given)))


def _inbox_token_source(account: MailAccount, wanted: Endpoint):
    """The inbox signs in with its own grant; without a sign-in of its own, with the sending grant
    when it is the same user at that provider's IMAP server."""
    if account.imap_credentials:
        return _token_source(account, "imap", wanted)
    grant = oauth.grant_of(account, "smtp")
    if grant is None or wanted.username != account.smtp_username \
            or (wanted.host, wanted.port, wanted.security) != oauth.PROVIDERS[grant["provider"]].imap:
        return None
    return _token_source(account, "smtp", endpoint(account, "smtp"))


def _store_password(account: MailAccount, service: str, given: SmtpInput | ImapInput) -> None:
    """A new password is sealed; an empty one keeps the saved password, unless the server or the
    user changed (the old password belongs elsewhere)."""
    if given.password:
        setattr(account, f"{service}_credentials", crypto.seal({"password": given.password}))
    elif endpoint_of(given) != endpoint(account, service):
        setattr(account, f"{service}_credentials", None)


def save_smtp(account: MailAccount, given: SmtpInput, checked_ok: bool, now: datetime) -> MailAccount:
    """Store the settings. A good test clears the failure state, so a paused studio starts
    sending again."""
    moved = not is_saved(account, "smtp", given)
    _store_password(account, "smtp", given)
    account.smtp_host, account.smtp_port, account.smtp_security = given.host, given.port, given.security
    account.smtp_username, account.from_address = given.username, given.from_address
    account.sender_name, account.reply_to = given.sender_name, given.reply_to
    account.limit_per_minute, account.limit_per_day = given.limit_per_minute, given.limit_per_day
    return _saved(account, "smtp", checked_ok, now, moved)


def save_imap(account: MailAccount, given: ImapInput, checked_ok: bool, now: datetime) -> MailAccount:
    moved = not is_saved(account, "imap", given)
    _store_password(account, "imap", given)
    account.imap_host, account.imap_port, account.imap_security = given.host, given.port, given.security
    account.imap_username, account.imap_folders = given.username, ", ".join(given.folders)
    account.sent_copy = given.sent_copy if given.sent_copy in MailAccount.SENT_COPY else "auto"
    return _saved(account, "imap", checked_ok, now, moved)


def preset_of(account: MailAccount) -> Preset | None:
    """The provider of the sending server, where it is one of the presets."""
    return next((preset for preset in PRESETS.values() if preset.smtp[0] == account.smtp_host), None)


def files_sent_copies(account: MailAccount) -> bool:
    """Does the app put a copy of what it sends in the studio's Sent folder? Where the provider
    does not already (Gmail and Microsoft 365 do), with an inbox to put it in; the owner's
    choice overrides."""
    if not account.imap_host or account.sent_copy == "never":
        return False
    preset = preset_of(account)
    return account.sent_copy == "always" or not (preset and preset.keeps_sent)


def remove_imap(account: MailAccount) -> None:
    """Stop reading the inbox: the settings, the password and any failure go."""
    account.imap_host, account.imap_username, account.imap_credentials = "", "", None
    account.imap_port, account.imap_security, account.imap_folders = 993, "ssl", "INBOX"
    account.imap_checked_at = account.imap_failing_since = None
    account.imap_failure_cause = account.imap_failure_detail = ""
    db.session.commit()


def _saved(account: MailAccount, service: str, checked_ok: bool, now: datetime, moved: bool) -> MailAccount:
    """A good test counts as a success; settings saved untested for another server or user have
    no successful test yet (the page must not show the old one's)."""
    if checked_ok:
        record_success(account, service, now)
    elif moved:
        setattr(account, f"{service}_checked_at", None)
    db.session.add(account)
    db.session.commit()
    return account


def is_saved(account: MailAccount, service: str, given: SmtpInput | ImapInput) -> bool:
    """Are these the saved connection settings (the password left empty, or the same)?"""
    saved = [getattr(account, f"{service}_{name}") for name in ("host", "port", "security", "username")]
    return account.id is not None and saved == [given.host, given.port, given.security, given.username] \
        and given.password in ("", kept_password(account, service, endpoint_of(given)))


def resume(account: MailAccount, service: str, now: datetime) -> None:
    record_success(account, service, now)
    db.session.commit()


def record_success(account: MailAccount, service: str, now: datetime) -> None:
    """A test or a real send/sync worked: the banner goes, a paused studio sends again."""
    setattr(account, f"{service}_checked_at", now)
    setattr(account, f"{service}_failing_since", None)
    setattr(account, f"{service}_failure_cause", "")
    setattr(account, f"{service}_failure_detail", "")


def record_failure(account: MailAccount, service: str, diagnosis: diagnostics.Diagnosis, now: datetime) -> None:
    """Real sends ("smtp") or syncs ("imap") fail on the account: the owner sees the banner, and
    sending pauses until a test or a save succeeds. The caller commits. The problems list gets the
    failure that started it, not one row per attempt while it lasts."""
    if getattr(account, f"{service}_failing_since") is None:
        note_problem(account.studio_id, service, "send" if service == "smtp" else "sync", diagnosis, now)
        setattr(account, f"{service}_failing_since", now)
        if service == "smtp":
            alerts.raise_alert(account.studio_id, "paused", _l(
                "Sending from %(address)s is paused (%(cause)s). Nothing is lost: it goes on once Test connection "
                "succeeds.", address=account.from_address, cause=diagnosis.detail[:200]), "/settings/email/", now=now)
        elif diagnosis.cause.concerns == "account":  # a refused sign-in, not a network glitch that passes
            alerts.raise_alert(account.studio_id, "sync_stopped", _l(
                "The inbox sync stopped: %(cause)s", cause=diagnosis.detail[:200]), "/settings/email/", now=now)
    setattr(account, f"{service}_failure_cause", diagnosis.key)
    setattr(account, f"{service}_failure_detail", diagnosis.detail[:500])


PROBLEMS_KEPT = timedelta(days=90)


def note_problem(studio_id: int, service: str, source: str, diagnosis: diagnostics.Diagnosis,
                 now: datetime) -> None:
    """Keep the failure for the diagnostics list (90 days). The caller commits."""
    db.session.add(MailProblem(studio_id=studio_id, service=service, source=source, cause=diagnosis.key,
                               named_cause=diagnosis.named, detail=diagnosis.detail[:500], at=now))
    db.session.execute(sa.delete(MailProblem).where(MailProblem.studio_id == studio_id,
                                                    MailProblem.at < now - PROBLEMS_KEPT))


def paused_before_for(studio_id: int, cause: str, detail: str, now: datetime) -> bool:
    """Did sending pause for this cause in these words (their ``diagnostics.gist``) in the last 90 days?"""
    details = db.session.scalars(sa.select(MailProblem.detail).where(
        MailProblem.studio_id == studio_id, MailProblem.service == "smtp", MailProblem.source == "send",
        MailProblem.cause == cause, MailProblem.at >= now - PROBLEMS_KEPT))
    return diagnostics.gist(detail) in {diagnostics.gist(earlier) for earlier in details}


def recent_problems(studio_id: int, limit: int = 20) -> list[MailProblem]:
    return list(db.session.scalars(sa.select(MailProblem).where(MailProblem.studio_id == studio_id)
                                   .order_by(MailProblem.at.desc(), MailProblem.id.desc()).limit(limit)))


def rotate_secrets() -> int:
    """Re-seal every stored credential under the newest key (after putting a new key first)."""
    count = 0
    for account in db.session.scalars(db.select(MailAccount)):
        for service in ("smtp", "imap"):
            sealed = getattr(account, f"{service}_credentials")
            if sealed:
                setattr(account, f"{service}_credentials", crypto.rotate(sealed))
                count += 1
    for sms in db.session.scalars(db.select(SmsAccount).where(SmsAccount.credentials.is_not(None))):
        sms.credentials = crypto.rotate(sms.credentials)
        count += 1
    db.session.commit()
    return count


@dataclass(frozen=True)
class AccountHealth:
    """How one of the studio's mail accounts is doing, for the dashboard."""

    service: str  # "smtp" or "imap"
    signs_in_with: str  # the provider's name, or "" for a password
    paused_since: datetime | None
    cause: str  # why it is paused, or why messages wait for a retry ("" while it works)
    last_success: datetime | None  # the last message sent (sending) or the last sync (inbox)
    retrying: int = 0  # messages waiting for a retry after a temporary failure (sending only)
    named: str = ""  # what a deferral's words named beside its cause (``Diagnosis.named``)


def account_health(account: MailAccount) -> list[AccountHealth]:
    """Sending and the inbox of a studio's account (``account_of``), where set up: working or
    paused since when and why, and when each last did its work."""
    found = []
    if account.smtp_configured:
        # The newest by the (status, studio, sent_at) index, read backwards: max() reads every sent
        # message on PostgreSQL (145 ms at 300,000; this: 0.4 ms).
        last_sent = db.session.scalar(sa.select(Message.sent_at).where(
            Message.studio_id == account.studio_id, Message.channel == "email", Message.status == "sent",
            Message.sent_at.is_not(None)).order_by(Message.sent_at.desc()).limit(1))
        retrying, cause, named = (0, account.smtp_failure_cause, "") if account.smtp_failing_since \
            else _retried(account.studio_id)
        found.append(AccountHealth("smtp", _provider_label(account, "smtp"), account.smtp_failing_since, cause,
                                   last_sent, retrying, named))
    if account.imap_configured:
        found.append(AccountHealth("imap", _provider_label(account, "imap"), account.imap_failing_since, account.imap_failure_cause,
                                   account.imap_checked_at))
    return found


def _retried(studio_id: int) -> tuple[int, str, str]:
    """Emails waiting for a retry after a temporary failure (a server down, a deferral): how many,
    and the cause of the one to be tried last (the latest to fail, as a rule). Such a failure pauses
    nothing, so "working" alone would hide it. One pass over the studio's scheduled messages."""
    row = db.session.execute(
        sa.select(sa.func.count().over(), Message.cause, Message.named_cause)
        .where(Message.studio_id == studio_id, Message.status == "scheduled", Message.channel == "email",
               Message.attempts > 0, Message.cause != "")
        .order_by(sa.nulls_last(Message.next_attempt_at.desc())).limit(1)).first()
    return tuple(row) if row else (0, "", "")


def _provider_label(account: MailAccount, service: str) -> str:
    signed_in = signed_in_with(account, service)
    provider = oauth.PROVIDERS.get(signed_in[1]["provider"]) if signed_in else None
    return str(provider.label) if provider else ""
