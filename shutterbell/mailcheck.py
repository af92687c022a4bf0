"""Test a studio's mail settings with the real protocol, changing nothing. SMTP: connect, EHLO,
STARTTLS or SSL, AUTH, and a MAIL FROM check, without sending. IMAP: connect, TLS, LOGIN, list
the folders, and open INBOX read-only for its message count. Settings in; steps, cause and hint
out. The settings page, the CLI (`flask --app app mail-check`) and the tests call these."""
from __future__ import annotations

import imaplib
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask_babel import lazy_gettext as _l

from . import diagnostics, netguard

SECURITY = ("ssl", "starttls", "none")
STEP_LABELS = {"connect": _l("Connect"), "ehlo": _l("Greeting (EHLO)"), "tls": _l("Encryption (STARTTLS)"),
               "starttls": _l("Encryption (STARTTLS)"), "auth": _l("Sign in"),
               "mail_from": _l("Sender address accepted (MAIL FROM)"), "test_email": _l("Test email sent"),
               "data": _l("Test email sent"), "folders": _l("List folders"),
               "inbox": _l("Open INBOX"), "sync_folders": _l("Folders to sync found"),
               "from_number": _l("Sending number belongs to the account"), "send": _l("Text sent")}
MAX_TIMEOUT = 15.0
# Where a server flags no special folders (RFC 6154), the names providers and clients give them,
# compared without the namespace prefix ("INBOX.Sent") and case.
SPECIAL_NAMES = {
    b"\\Sent": ("sent", "sent items", "sent messages", "sent mail", "gesendet", "gesendete objekte",
                "gesendete elemente", "envoyés", "éléments envoyés", "wysłane", "elementy wysłane", "enviados",
                "elementos enviados", "posta inviata", "inviata", "verzonden", "verzonden items"),
    b"\\Trash": ("trash", "deleted items", "deleted messages", "deleted", "bin", "papierkorb",
                 "gelöschte elemente", "gelöschte objekte", "corbeille", "éléments supprimés", "kosz",
                 "elementy usunięte", "papelera", "cestino", "prullenbak", "verwijderde items"),
}


@dataclass
class SmtpSettings:
    host: str
    port: int
    security: str  # "ssl", "starttls" or "none"
    username: str = ""
    password: str = ""
    from_address: str = ""
    # Signs in with the provider (XOAUTH2) instead of a password: returns an access token, or
    # raises diagnostics.DeliveryFailure when the provider gives none (``oauth``).
    token: Callable[[], str] | None = field(default=None, repr=False)


@dataclass
class Step:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class CheckResult:
    steps: list[Step] = field(default_factory=list)
    diagnosis: diagnostics.Diagnosis | None = None

    @property
    def ok(self) -> bool:
        return self.diagnosis is None

    def as_dict(self) -> dict:
        """For `mail-check --json`: never includes the password."""
        return {"ok": self.ok, "steps": [vars(s) for s in self.steps],
                "cause": self.diagnosis.key if self.diagnosis else None,
                "hint": str(self.diagnosis.hint) if self.diagnosis else None,
                "detail": self.diagnosis.detail if self.diagnosis else None}


def open_smtp(settings: SmtpSettings, timeout: float, context: ssl.SSLContext, *, allow_private: bool,
              steps: list[Step] | None = None, deadline: float | None = None) -> smtplib.SMTP:
    """Connect, EHLO, STARTTLS or SSL, and sign in: the start the check and the sender share.
    Records each passed step in ``steps``; raises diagnostics.DeliveryFailure (the connection closed).
    ``allow_private``: may the host be on a private network or this machine (``netguard``)?
    Each step waits ``timeout`` at most, and none past ``deadline`` (time.monotonic())."""
    steps = [] if steps is None else steps
    phase, client = "connect", None
    # A token first (it may need the provider's token endpoint): a refusal there is the sign-in's.
    token = _token_for(settings)
    try:
        addresses = netguard.resolve(settings.host, settings.port, allow_private)
        if settings.security == "ssl":
            client = netguard.PinnedSMTP_SSL(settings.host, settings.port, addresses, timeout, context, deadline)
        else:
            client = netguard.PinnedSMTP(settings.host, settings.port, addresses, timeout, deadline)
        steps.append(Step("connect", True, f"{settings.host}:{settings.port}"))
        phase = "ehlo"
        _wait_at_most(client.sock, timeout, deadline)
        _expect(client.ehlo(), 250, "ehlo")
        steps.append(Step("ehlo", True))
        if settings.security == "starttls":
            phase = "tls"
            _wait_at_most(client.sock, timeout, deadline)
            client.starttls(context=context)
            _wait_at_most(client.sock, timeout, deadline)
            client.ehlo()
            steps.append(Step("starttls", True))
        if settings.username:
            phase = "auth"
            _wait_at_most(client.sock, timeout, deadline)
            if token:
                login_oauth(client, settings.username, token)
            else:
                login(client, settings.username, settings.password)
            steps.append(Step("auth", True, settings.username))
        return client
    except (_Reply, OSError, smtplib.SMTPException) as exc:
        quit_smtp(client)
        raise diagnostics.DeliveryFailure(_granted(_diagnose(exc, phase, settings), token), phase) from None


def _token_for(settings) -> str | None:
    """The access token to sign in with (``settings.token``), or None for a password."""
    return settings.token() if settings.token and settings.username else None


def _granted(diagnosis: diagnostics.Diagnosis, token: str | None) -> diagnostics.Diagnosis:
    """A sign-in with a token that the server refuses is the grant's end, not a password problem."""
    if token and diagnosis.key in ("wrong_password", "app_password_required", "auth_method_disabled"):
        return diagnostics.Diagnosis(diagnostics.CAUSES["oauth_grant_revoked"], diagnosis.detail, diagnosis.protocol)
    return diagnosis


def check_smtp(settings: SmtpSettings, timeout: float = 9.0, context: ssl.SSLContext | None = None,
               send_to: str = "", *, allow_private: bool) -> CheckResult:
    """Run the SMTP conversation up to MAIL FROM and stop (RSET, QUIT): nothing is sent, unless
    ``send_to`` asks for a short test email to that address (the owner's own). The whole check
    takes ``timeout`` seconds at most, whatever the server does (a silent one, a dropping firewall)."""
    result, deadline = CheckResult(), time.monotonic() + min(timeout, MAX_TIMEOUT)
    try:
        client = open_smtp(settings, timeout, context or ssl.create_default_context(),
                           allow_private=allow_private, steps=result.steps, deadline=deadline)
    except diagnostics.DeliveryFailure as failure:
        return _failed(result, failure.diagnosis, failure.phase)
    phase = "mail_from"
    try:
        if settings.from_address:
            _wait_at_most(client.sock, timeout, deadline)
            _expect(client.mail(settings.from_address), 250, "mail_from")
            client.rset()
            result.steps.append(Step("mail_from", True, settings.from_address))
        if send_to and settings.from_address:
            phase = "data"
            _wait_at_most(client.sock, timeout, deadline)
            client.send_message(_test_email(settings.from_address, send_to))
            result.steps.append(Step("test_email", True, send_to))
    except smtplib.SMTPRecipientsRefused as exc:
        code, text = next(iter(exc.recipients.values()))
        _failed(result, diagnostics.classify("smtp", "rcpt", f"{code} {diagnostics.decoded(text)}", code,
                                             settings.host), "rcpt")
    except (_Reply, OSError, smtplib.SMTPException) as exc:
        _failed(result, _diagnose(exc, phase, settings), phase)
    finally:
        quit_smtp(client)
    return result


def _wait_at_most(sock, timeout: float, deadline: float | None) -> None:
    """The next step's wait: the step's timeout, but not past the check's deadline."""
    if sock is not None and deadline is not None:
        sock.settimeout(netguard.time_left(timeout, deadline))


def _diagnose(exc: BaseException, phase: str, settings: SmtpSettings) -> diagnostics.Diagnosis:
    server = {"host": settings.host, "port": settings.port, "security": settings.security}
    if isinstance(exc, _Reply):
        return diagnostics.classify("smtp", exc.phase, exc.text, exc.code, **server)
    return diagnostics.classify_exception(exc, "smtp", phase, **server)


def _failed(result: CheckResult, diagnosis: diagnostics.Diagnosis, phase: str) -> CheckResult:
    result.diagnosis = diagnosis
    result.steps.append(Step(phase, False, diagnosis.detail))
    return result


def quit_smtp(client: smtplib.SMTP | None) -> None:
    """Say goodbye (briefly); a connection that already broke, or a failing goodbye, changes nothing."""
    if client is not None:
        try:
            _wait_at_most(client.sock, 2.0, time.monotonic() + 2.0)
            client.quit()
        except (OSError, smtplib.SMTPException):
            pass


def _test_email(sender: str, recipient: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"] = sender, recipient
    message["Subject"] = str(_l("Shutterbell: test email"))  # in the owner's language, who asked for it
    message["Date"], message["Message-ID"] = formatdate(localtime=False), make_msgid()
    message.set_content(str(_l("This test email came through your studio's own mail account, as your customers' "
                               "messages will. Nothing to do.")), cte="quoted-printable")  # 7-bit: any server

    return message


def login(client: smtplib.SMTP, username: str, password: str) -> None:
    """One AUTH attempt with one mechanism. smtplib's login() tries every mechanism in turn: to a
    provider that is several wrong passwords, and some servers stall on the second."""
    if not client.has_extn("auth"):
        raise smtplib.SMTPNotSupportedError("SMTP AUTH extension not supported by server.")
    offered = client.esmtp_features["auth"].upper().split()
    client.user, client.password = username, password
    mechanism = "PLAIN" if "PLAIN" in offered or "LOGIN" not in offered else "LOGIN"
    authobject = client.auth_plain if mechanism == "PLAIN" else client.auth_login
    code, message = client.auth(mechanism, authobject, initial_response_ok=mechanism == "PLAIN")
    if code != 235:  # smtplib takes 503 ("already signed in", or "authentication not enabled") for success
        raise _Reply(code, f"{code} {diagnostics.decoded(message)}", "auth")


def login_oauth(client: smtplib.SMTP, username: str, access_token: str) -> None:
    """SASL XOAUTH2, as Microsoft 365 and Gmail take it: the user and the bearer token."""
    if not client.has_extn("auth"):
        raise smtplib.SMTPNotSupportedError("SMTP AUTH extension not supported by server.")
    response = f"user={username}\x01auth=Bearer {access_token}\x01\x01"
    # A refusal comes as a 334 challenge (the error, base64 JSON) that wants an empty answer, then 535.
    code, message = client.auth("XOAUTH2", lambda challenge=None: response if challenge is None else "",
                                initial_response_ok=True)
    if code != 235:
        raise _Reply(code, f"{code} {diagnostics.decoded(message)}", "auth")


class _Reply(Exception):
    def __init__(self, code: int, text: str, phase: str):
        super().__init__(text)
        self.code, self.text, self.phase = code, text, phase


def _expect(reply: tuple[int, bytes], wanted: int, phase: str) -> None:
    code, message = reply
    if code != wanted:
        raise _Reply(code, f"{code} {diagnostics.decoded(message)}", phase)


@dataclass
class ImapSettings:
    host: str
    port: int
    security: str  # "ssl", "starttls" or "none"
    username: str
    password: str = ""
    folders: tuple[str, ...] = ()  # to sync: each must exist
    token: Callable[[], str] | None = field(default=None, repr=False)  # XOAUTH2, as for SmtpSettings


def open_imap(settings: ImapSettings, timeout: float, context: ssl.SSLContext, *, allow_private: bool,
              steps: list[Step] | None = None, deadline: float | None = None):
    """Connect, TLS and LOGIN: the start the check and the inbox reader share. Records each passed
    step in ``steps``; raises diagnostics.DeliveryFailure (the connection closed). Each step
    waits ``timeout`` at most, and none past ``deadline`` (time.monotonic())."""
    steps = [] if steps is None else steps
    phase, client = "connect", None
    token = _token_for(settings)
    try:
        addresses = netguard.resolve(settings.host, settings.port, allow_private)
        client = netguard.PinnedIMAPClient(settings.host, settings.port, addresses, settings.security == "ssl",
                                           context, min(timeout, MAX_TIMEOUT), deadline)
        steps.append(Step("connect", True, f"{settings.host}:{settings.port}"))
        if settings.security == "starttls":
            phase = "tls"
            _wait_at_most(client.socket(), timeout, deadline)
            client.starttls(context)
            steps.append(Step("starttls", True))
        phase = "auth"
        _wait_at_most(client.socket(), timeout, deadline)
        if token:
            client.oauth2_login(settings.username, token)
        else:
            if settings.security == "none" and client.has_capability("LOGINDISABLED"):
                # RFC 3501 6.2.3: a client must not send LOGIN then; some servers accept it and fail later
                raise imaplib.IMAP4.error("The server allows no LOGIN before TLS (LOGINDISABLED)")
            client.login(settings.username, settings.password)
        steps.append(Step("auth", True, settings.username))
        return client
    except Exception as exc:  # IMAPClient raises imaplib's errors, socket and TLS errors alike
        close_imap(client)
        raise diagnostics.DeliveryFailure(_granted(_diagnose_imap(exc, phase, settings), token), phase) from None


def _diagnose_imap(exc: BaseException, phase: str, settings: ImapSettings) -> diagnostics.Diagnosis:
    return diagnostics.classify_exception(exc, "imap", phase, settings.host, port=settings.port,
                                          security=settings.security)


def close_imap(client) -> None:
    if client is not None:
        try:
            client.logout()
        except Exception:  # the connection may already be gone
            pass


def check_imap(settings: ImapSettings, timeout: float = 9.0, context: ssl.SSLContext | None = None, *,
               allow_private: bool) -> CheckResult:
    """Connect, TLS, LOGIN, LIST, and SELECT INBOX read-only (its message count): nothing changes.
    The whole check takes ``timeout`` seconds at most."""
    result, deadline = CheckResult(), time.monotonic() + min(timeout, MAX_TIMEOUT)
    try:
        client = open_imap(settings, timeout, context or ssl.create_default_context(), allow_private=allow_private,
                           steps=result.steps, deadline=deadline)
    except diagnostics.DeliveryFailure as failure:
        return _failed(result, failure.diagnosis, failure.phase)
    phase = "folders"
    try:
        _wait_at_most(client.socket(), timeout, deadline)
        folders = client.list_folders()
        names = [name for _flags, _delimiter, name in folders]
        result.steps.append(Step("folders", True, _folder_summary(names)))
        phase = "inbox"
        _wait_at_most(client.socket(), timeout, deadline)
        inbox = client.select_folder("INBOX", readonly=True)
        result.steps.append(Step("inbox", True, str(inbox.get(b"EXISTS", 0))))
        missing = _missing_folders(settings.folders, names)
        if missing:
            _failed(result, diagnostics.Diagnosis(diagnostics.CAUSES["folder_not_found"],
                                                  f"Not found: {', '.join(missing)}"), "sync_folders")
        else:
            sent = special_folder(folders, b"\\Sent")
            result.steps.append(Step("sync_folders", True, ", ".join(dict.fromkeys([*settings.folders, *filter(None, [sent])]))))
    except Exception as exc:  # as above
        _failed(result, _diagnose_imap(exc, phase, settings), phase)
    finally:
        close_imap(client)
    return result


def special_folder(folders: list, flag: bytes) -> str | None:
    """The server's folder for ``flag`` (\\Sent, \\Trash) among the LIST answer's folders: the
    one with that SPECIAL-USE flag (RFC 6154), else the first with a name providers give it."""
    flagged = next((name for flags, _delimiter, name in folders
                    if flag.lower() in {f.lower() for f in flags}), None)
    if flagged is not None:
        return flagged
    names = SPECIAL_NAMES[flag]
    for flags, delimiter, name in folders:
        last = name.rsplit(delimiter.decode(), 1)[-1] if delimiter else name
        if last.lower() in names and b"\\Noselect" not in flags:
            return name
    return None


def _folder_summary(names: list[str], shown: int = 8) -> str:
    names = sorted(names, key=lambda name: (name.upper() != "INBOX", name.lower()))
    more = f", … (+{len(names) - shown})" if len(names) > shown else ""
    return f"{len(names)}: {', '.join(names[:shown])}{more}"


def _missing_folders(wanted: tuple[str, ...], names: list[str]) -> list[str]:
    """INBOX is case-insensitive (RFC 3501); other names are as the server spells them."""
    have = set(names) | {"INBOX" for name in names if name.upper() == "INBOX"}
    return [name for name in wanted if (name.upper() if name.upper() == "INBOX" else name) not in have]
