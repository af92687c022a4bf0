"""A studio's mail account: presets for common providers, saving SMTP settings (the password
sealed, kept when the field is left empty), and the settings the connection check and the
sender use."""
from __future__ import annotations

import ssl
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l

from . import crypto, mailcheck
from .extensions import db
from .models import MailAccount, Studio


@dataclass(frozen=True)
class Preset:
    label: str
    smtp: tuple[str, int, str]  # host, port, security
    imap: tuple[str, int, str]
    note: str = ""


APP_PASSWORD = _l("Sign in with an app password, not your normal password: turn on 2-step verification, "
                  "then create an app password in your account's security settings.")

PRESETS = {
    "gmail": Preset("Gmail", ("smtp.gmail.com", 587, "starttls"), ("imap.gmail.com", 993, "ssl"), APP_PASSWORD),
    "google_workspace": Preset("Google Workspace", ("smtp.gmail.com", 587, "starttls"), ("imap.gmail.com", 993, "ssl"),
                               _l("Use an app password (2-step verification on). Your Workspace admin must allow "
                                  "IMAP and app passwords for your account.")),
    "microsoft365": Preset("Outlook / Microsoft 365", ("smtp.office365.com", 587, "starttls"),
                           ("outlook.office365.com", 993, "ssl"),
                           _l("Your Microsoft 365 admin must turn on “Authenticated SMTP” for this mailbox. "
                              "Microsoft is switching password sign-in for SMTP off for existing tenants at the "
                              "end of December 2026; until sign-in with Microsoft is available here, an SMTP "
                              "relay service (or another provider) keeps your mail going.")),
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
    context = ssl.create_default_context()
    if current_app.config.get("MAIL_CA_FILE"):
        context.load_verify_locations(cafile=current_app.config["MAIL_CA_FILE"])
    return context


def check(settings: mailcheck.SmtpSettings, timeout: float, send_to: str = "") -> mailcheck.CheckResult:
    return mailcheck.check_smtp(settings, timeout=timeout, context=tls_context(), send_to=send_to)


def account_of(studio: Studio) -> MailAccount:
    """The studio's account row, or an unsaved blank one."""
    account = db.session.scalar(db.select(MailAccount).where(MailAccount.studio_id == studio.id))
    return account or MailAccount(studio_id=studio.id, smtp_host="", smtp_port=587, smtp_security="starttls",
                                  smtp_username="", from_address="", sender_name="", reply_to="")


def paused_account(studio: Studio) -> MailAccount | None:
    return db.session.scalar(db.select(MailAccount).where(MailAccount.studio_id == studio.id,
                                                          MailAccount.smtp_failing_since.is_not(None)))


def has_smtp_password(account: MailAccount) -> bool:
    return bool(account.smtp_credentials)


def smtp_settings(account: MailAccount, given: SmtpInput | None = None) -> mailcheck.SmtpSettings:
    """What the check and the sender connect with: the given (unsaved) values, falling back to the
    saved password when the field was left empty."""
    if given is None:
        return mailcheck.SmtpSettings(account.smtp_host, account.smtp_port, account.smtp_security,
                                      account.smtp_username, smtp_password(account), account.from_address)
    password = given.password or (smtp_password(account) if given.username == account.smtp_username else "")
    return mailcheck.SmtpSettings(given.host, given.port, given.security, given.username, password,
                                  given.from_address)


def smtp_password(account: MailAccount) -> str:
    return crypto.unseal(account.smtp_credentials).get("password", "")


def save_smtp(account: MailAccount, given: SmtpInput, checked_ok: bool, now: datetime) -> MailAccount:
    """Store the settings. A new password is sealed; an empty one keeps the saved password, unless
    the username changed (the old password belongs to another account). A good test clears the
    failure state, so a paused studio starts sending again."""
    if given.password:
        account.smtp_credentials = crypto.seal({"password": given.password})
    elif given.username != account.smtp_username:
        account.smtp_credentials = None
    account.smtp_host, account.smtp_port, account.smtp_security = given.host, given.port, given.security
    account.smtp_username, account.from_address = given.username, given.from_address
    account.sender_name, account.reply_to = given.sender_name, given.reply_to
    account.limit_per_minute, account.limit_per_day = given.limit_per_minute, given.limit_per_day
    if checked_ok:
        record_smtp_success(account, now)
    db.session.add(account)
    db.session.commit()
    return account


def is_saved(account: MailAccount, given: SmtpInput) -> bool:
    """Are these the saved connection settings (the password left empty, or the same)?"""
    return account.id is not None and (account.smtp_host, account.smtp_port, account.smtp_security,
                                       account.smtp_username) == (given.host, given.port, given.security,
                                                                  given.username) \
        and given.password in ("", smtp_password(account))


def resume(account: MailAccount, now: datetime) -> None:
    record_smtp_success(account, now)
    db.session.commit()


def record_smtp_success(account: MailAccount, now: datetime) -> None:
    account.smtp_checked_at = now
    account.smtp_failing_since = None
    account.smtp_failure_cause = account.smtp_failure_detail = ""


def rotate_secrets() -> int:
    """Re-seal every stored credential under the newest key (after putting a new key first)."""
    count = 0
    for account in db.session.scalars(db.select(MailAccount).where(MailAccount.smtp_credentials.is_not(None))):
        account.smtp_credentials = crypto.rotate(account.smtp_credentials)
        count += 1
    db.session.commit()
    return count
