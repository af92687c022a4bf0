"""What went wrong with a studio's mail server, and what the studio can do about it.

One place maps exceptions and server replies (smtplib, ssl, socket, IMAP errors; reply codes,
enhanced status codes and wording) to a small set of causes. The settings page, the worker and the
inbox sync all ask it. Rules are general (codes, status classes, phrases providers share), never
one provider's exact sentence; the host name only settles what a provider means by a plain
"authentication failed".
"""
from __future__ import annotations

import re
import socket
import ssl
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from . import netguard


@dataclass(frozen=True)
class Cause:
    key: str
    hint: str
    retry: bool  # worth trying again later (the worker retries with backoff)
    concerns: str  # "account": pause the studio's sending; "recipient": fail this message only


@dataclass(frozen=True)
class Diagnosis:
    cause: Cause
    detail: str  # the server's words or the exception, for the diagnostics page (never a secret)

    @property
    def key(self) -> str:
        return self.cause.key


class DeliveryFailure(Exception):
    """A step of a conversation with a mail server or the SMS provider failed: which one
    (``phase``), and what this module makes of it."""

    def __init__(self, diagnosis: Diagnosis, phase: str):
        super().__init__(diagnosis.detail)
        self.diagnosis, self.phase = diagnosis, phase


def _cause(key: str, hint, retry: bool = False, concerns: str = "account") -> Cause:
    return Cause(key, hint, retry, concerns)


CAUSES = {c.key: c for c in (
    _cause("wrong_password", _l("The server refused the username or password. Check both. If you changed your "
                                "Google password, your app passwords stopped working: create a new one.")),
    _cause("app_password_required", _l("This account uses 2-step verification: create an app password in your "
                                       "provider's security settings and enter it here instead of your "
                                       "normal password.")),
    _cause("auth_method_disabled", _l("Your provider has switched off password sign-in for mail programs. Microsoft "
                                      "365 does this by default (\u201cAuthenticated SMTP\u201d off): ask whoever runs "
                                      "your Microsoft 365 to turn on Authenticated SMTP for this mailbox, or send "
                                      "through another SMTP service for now.")),
    _cause("account_locked_or_web_login_required", _l("Your provider blocked this sign-in. Sign in to your mail in a "
                                                      "browser, confirm the security prompt, then try again.")),
    _cause("imap_disabled", _l("IMAP is switched off for this account. Turn it on in your webmail's settings "
                               "(Gmail: Settings \u2192 Forwarding and POP/IMAP), then try again.")),
    _cause("private_address", _l("This server's address is on a private network or this machine, which this "
                                 "instance does not allow (it hosts several studios). Use your provider's public "
                                 "server name.")),
    _cause("host_not_found", _l("This server name does not exist. Check the spelling of the host, or pick your "
                                "provider from the list.")),
    _cause("connection_refused", _l("Nothing answers on this port. Check the host and port (SMTP: 587 or 465, IMAP: "
                                    "993); providers sometimes move to new servers.")),
    _cause("timeout", _l("The server did not answer in time. A firewall may block the port, or the port expects "
                         "SSL/TLS from the first byte (465 for SMTP, 993 for IMAP)."), retry=True),
    _cause("tls_mode_mismatch", _l("The security setting does not fit the port: 465 and 993 are SSL/TLS, 587 and "
                                   "143 are STARTTLS.")),
    _cause("certificate_untrusted", _l("The server's certificate is self-signed or expired, so the connection cannot "
                                       "be trusted. Ask your provider, or use the host name from their help pages.")),
    _cause("certificate_hostname_mismatch", _l("The server's certificate is for another name. Use the exact host "
                                               "name your provider documents (not an IP address or an alias).")),
    _cause("starttls_required", _l("The server only accepts a sign-in over an encrypted connection: choose STARTTLS "
                                   "(port 587) or SSL/TLS (port 465).")),
    _cause("auth_not_offered", _l("The server does not offer sign-in on this connection. Use your provider's "
                                  "submission server on port 587 with STARTTLS, and enter a username.")),
    _cause("sender_rejected", _l("The server will not send from this address. The from address must be your "
                                 "account's own address or an alias your provider allows.")),
    _cause("relay_denied", _l("The server will not pass mail on for you. Sign in with username and password, or "
                              "use your provider's SMTP server.")),
    _cause("rate_limited", _l("The provider is limiting how fast or how many connections you use. Sending "
                              "slows down and tries again."), retry=True),
    _cause("quota_or_daily_limit", _l("The account reached its sending limit for today. Sending pauses and goes on "
                                      "tomorrow; lower the daily limit in the settings to spread messages out."),
           retry=True),
    _cause("mailbox_unavailable", _l("That mailbox or folder does not exist. Check the address or the folder name."),
           concerns="recipient"),
    _cause("folder_not_found", _l("A folder to sync does not exist on the server. Use the names the test lists "
                                  "(they are case-sensitive; Gmail's sent folder is \u201c[Gmail]/Sent Mail\u201d, or "
                                  "\u201c[Google Mail]/Sent Mail\u201d in some countries).")),
    _cause("temporary_server_error", _l("The server had a temporary problem. It is tried again automatically."),
           retry=True),
    _cause("sms_host_not_found", _l("The SMS provider's server name cannot be found from this machine. Try again "
                                    "in a few minutes; if it lasts, the instance's SMS_API_URL may be wrong (ask "
                                    "whoever runs this installation).")),
    _cause("sms_unreachable", _l("The SMS provider's server does not answer from this machine. It is tried again "
                                 "automatically; if it lasts, a firewall may block outgoing HTTPS, or the instance's "
                                 "SMS_API_URL may be wrong (ask whoever runs this installation)."), retry=True),
    _cause("sms_auth_failed", _l("The SMS provider refused the account SID or the auth token. Copy both again from "
                                 "your provider's console (the auth token, not an API key).")),
    _cause("sms_sender_invalid", _l("The SMS provider will not send from this number. It must be a number of this "
                                    "account that can send text messages, in international format (+4915…).")),
    _cause("sms_recipient_unsubscribed", _l("This customer replied STOP to your texts: your provider blocks texts "
                                            "to them, and the number is on your studio's suppression list."),
           concerns="recipient"),
    _cause("sms_outcome_unknown", _l("The SMS provider did not answer whether it took this text. Look in your "
                                     "provider's message log before sending it again, so the customer does not get "
                                     "it twice."), concerns="recipient"),
    _cause("sms_recipient_invalid", _l("This phone number cannot receive text messages: a wrong number, a landline, or "
                                       "a country your provider account may not text (check its geographic "
                                       "permissions)."), concerns="recipient"),
    _cause("other", _l("The server answered with an error we do not know. Its words are below; your provider's "
                       "help pages can explain them."), retry=False),
)}

# (cause, pattern) checked in order against the server's words; the first match wins.
_WORDING = [
    ("host_not_found", r"name or service not known|getaddrinfo failed|name resolution|nodename nor servname"),
    ("account_locked_or_web_login_required",
     r"web ?login ?required|log ?in with your web browser|\bwebalert\b|spam abuse|account (is )?(locked|disabled)"),
    ("app_password_required", r"application-specific password|invalidsecondfactor|app password"),
    ("auth_method_disabled",
     r"5\.7\.139|5\.7\.30\b|smtpclientauthentication is disabled|basic auth\w* (is )?(disabled|not supported)|"
     r"invalid authentication mechanism"),
    ("imap_disabled", r"imap (access )?(is )?disabled|not enabled for imap|imap use"),
    ("starttls_required", r"privacyrequired|must issue a starttls|plaintext authentication disallowed|"
                          r"smtp auth extension not supported"),
    ("tls_mode_mismatch", r"starttls extension not supported|wrong[_ ]version[_ ]number|record layer failure|"
                          r"unknown protocol|connection unexpectedly closed"),
    ("auth_not_offered", r"authentication not enabled|auth\w* command used when not advertised|"
                         r"5\.7\.0 authentication required"),
    ("relay_denied", r"relay(ing)? access denied|relaying denied|relay not permitted"),
    ("sender_rejected", r"sender address rejected|not owned by|sendasdenied|not allowed to send as|"
                        r"relaying disallowed|sender .* not allowed"),
    ("quota_or_daily_limit", r"daily (user sending )?limit|quota ?exceeded|sending limit|5\.1\.90"),
    ("rate_limited", r"too many (simultaneous )?connections|thread limit|try again later|rate limit|throttl"),
    ("temporary_server_error", r"\bunavailable\b|temporary (authentication )?failure|auth process broken"),
    ("mailbox_unavailable", r"nonexistent|unknown mailbox|no such (mailbox|folder)|mailbox unavailable"),
    ("certificate_hostname_mismatch", r"hostname mismatch|doesn't match|not valid for"),
    ("certificate_untrusted", r"certificate verify failed|self[- ]signed|certificate has expired|unable to get local issuer"),
    ("connection_refused", r"connection refused|actively refused|errno 111|winerror 10061"),
    ("timeout", r"timed out|did not properly respond|winerror 10060"),
    ("wrong_password", r"authenticationfailed|invalid credentials|authentication (failed|unsuccessful)|"
                       r"username and password not accepted|incorrect username or password|"
                       r"(login|authenticate) failed|bad credentials"),
]
_COMPILED = [(key, re.compile(pattern, re.IGNORECASE)) for key, pattern in _WORDING]

# Providers whose plain "authentication failed" means something more specific.
_ICLOUD = re.compile(r"(^|\.)(mail\.me\.com|icloud\.com)$")
_MICROSOFT_CLOUD = re.compile(r"(^|\.)(office365\.com|outlook\.com|hotmail\.com|live\.com)$")


def classify(protocol: str, phase: str, text: str, code: int | None = None, host: str = "") -> Diagnosis:
    """Diagnose a server reply (or an exception's text) seen at ``phase`` of ``protocol``."""
    text = str(text)
    key = _by_wording(text)
    if key == "wrong_password":
        key = _provider_meaning(protocol, host) or key
    if key is None:
        key = _by_code(code if code is not None else _reply_code(text), phase)
    return Diagnosis(CAUSES[key], text.strip()[:500])


def classify_exception(exc: BaseException, protocol: str, phase: str, host: str = "") -> Diagnosis:
    """Diagnose what a connection attempt raised."""
    code = getattr(exc, "smtp_code", None)
    text = f"{type(exc).__name__}: {_exception_text(exc)}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        mismatch = "mismatch" in text.lower() or "not valid for" in text.lower()
        key = "certificate_hostname_mismatch" if mismatch else "certificate_untrusted"
        return Diagnosis(CAUSES[key], text[:500])
    if isinstance(exc, netguard.ForbiddenAddress):
        return Diagnosis(CAUSES["private_address"], str(exc)[:500])
    if isinstance(exc, socket.gaierror):
        return Diagnosis(CAUSES["sms_host_not_found" if protocol == "sms" else "host_not_found"], text[:500])
    # The SMS section has no server, port or security to check: the gateway's address is the instance's.
    if isinstance(exc, ConnectionRefusedError):
        return Diagnosis(CAUSES["sms_unreachable" if protocol == "sms" else "connection_refused"], text[:500])
    if isinstance(exc, (TimeoutError, socket.timeout)) and phase == "connect":
        return Diagnosis(CAUSES["sms_unreachable" if protocol == "sms" else "timeout"], text[:500])
    return classify(protocol, phase, text, code, host)


# Twilio's error codes (other providers with a Twilio-compatible API use the same).
_SMS_CODES = {20003: "sms_auth_failed", 20404: "sms_auth_failed", 20429: "rate_limited",
              21606: "sms_sender_invalid", 21659: "sms_sender_invalid", 21212: "sms_sender_invalid",
              21610: "sms_recipient_unsubscribed", 21211: "sms_recipient_invalid", 21214: "sms_recipient_invalid",
              21408: "sms_recipient_invalid", 21612: "sms_recipient_invalid", 21614: "sms_recipient_invalid"}


def classify_sms(status: int, code: int | None, message: str) -> Diagnosis:
    """Diagnose an SMS provider's error answer: its error code first, then the HTTP status."""
    detail = f"{status} {code or ''} {message}".replace("  ", " ").strip()[:500]
    if code in _SMS_CODES:
        return Diagnosis(CAUSES[_SMS_CODES[code]], detail)
    if status == 401:
        return Diagnosis(CAUSES["sms_auth_failed"], detail)
    if status == 429:
        return Diagnosis(CAUSES["rate_limited"], detail)
    if status >= 500:
        return Diagnosis(CAUSES["temporary_server_error"], detail)
    return Diagnosis(CAUSES["other"], detail)


def _exception_text(exc: BaseException) -> str:
    message = getattr(exc, "smtp_error", None)
    if isinstance(message, bytes):
        return message.decode("utf-8", "replace")
    return str(exc)


def _by_wording(text: str) -> str | None:
    for key, pattern in _COMPILED:
        if pattern.search(text):
            return key
    return None


def _provider_meaning(protocol: str, host: str) -> str | None:
    host = host.lower().rstrip(".")
    if _ICLOUD.search(host):
        return "app_password_required"  # iCloud accepts only app-specific passwords from mail programs
    if protocol == "imap" and _MICROSOFT_CLOUD.search(host):
        return "auth_method_disabled"  # Exchange Online turned basic authentication off for IMAP
    return None


_CODE_RE = re.compile(r"\b([2-5]\d\d)[ -]")


def _reply_code(text: str) -> int | None:
    found = _CODE_RE.search(text)
    return int(found.group(1)) if found else None


def _by_code(code: int | None, phase: str) -> str:
    """The last resort: what the reply code's class says (RFC 5321)."""
    if code is None:
        return "other"
    if code in (421, 450, 451, 452) or 400 <= code < 500:
        return "temporary_server_error"
    if code == 535:
        return "wrong_password"
    if code in (530, 503) and phase in ("auth", "mail_from"):
        return "auth_not_offered"
    if code in (550, 551, 553) and phase == "mail_from":
        return "sender_rejected"
    if code in (550, 551, 553) and phase == "rcpt":
        return "mailbox_unavailable"
    return "other"
