"""Email, sent through each studio's own SMTP account (Settings → Email): one connection per
studio and batch. Account settings and their connection test are ``mailsettings``; what a failure
means is ``diagnostics``'."""
from __future__ import annotations

import logging
import smtplib
import ssl
from datetime import datetime, timezone

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from rq.timeouts import BaseTimeoutException

from .. import addresses, composer, diagnostics, mailcheck, mailsettings
from ..diagnostics import DeliveryFailure
from ..extensions import db
from ..models import Customer, MailAccount, Message, Studio
from . import Channel

log = logging.getLogger(__name__)
SEEN = b"\\Seen"


class Email(Channel):
    key = "email"
    label = _l("Email")
    name = _l("Email")
    consent_label = _l("Emails")
    text_format = "email"
    max_body = 20_000

    def address(self, customer: Customer) -> str | None:
        return customer.email

    def address_column(self) -> sa.ColumnElement:
        return Customer.email

    def studios_with_account(self) -> sa.Select:
        return sa.select(MailAccount.studio_id).where(MailAccount.smtp_host != "", MailAccount.from_address != "")

    def studios_ready(self, now: datetime) -> sa.Select:
        return self.studios_with_account().where(MailAccount.smtp_failing_since.is_(None))

    def limits(self, studio_ids: set[int]) -> dict[int, tuple[int | None, int | None]]:
        return {a.studio_id: (a.limit_per_minute, a.limit_per_day) for a in db.session.scalars(
            sa.select(MailAccount).where(MailAccount.studio_id.in_(studio_ids),
                                         sa.or_(MailAccount.limit_per_minute.is_not(None),
                                                MailAccount.limit_per_day.is_not(None))))}

    def open_session(self, studio: Studio, now: datetime) -> SmtpSession:
        return SmtpSession(mailsettings.account_of(studio), mailsettings.tls_context())


class SmtpSession:
    """One connection to the studio's server for a whole batch, opened on the first message and
    opened again after a failure closed it. smtplib's debug output stays off (it logs AUTH).
    Where the studio's provider keeps no copy of what it sends, the batch's sent mail goes into
    the Sent folder at the end, over one IMAP connection."""

    def __init__(self, account: MailAccount, context: ssl.SSLContext, timeout: float = 30.0):
        self.account, self.context, self.timeout = account, context, timeout
        self.client: smtplib.SMTP | None = None
        self.sent: list[bytes] | None = [] if mailsettings.files_sent_copies(account) else None

    def __enter__(self) -> SmtpSession:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
        if self.sent:
            file_sent_copies(self.account, self.sent, self.timeout)
            self.sent = []

    def close(self) -> None:
        mailcheck.quit_smtp(self.client)
        self.client = None

    @property
    def broken(self) -> bool:
        """The connection is gone (a failure closed it)."""
        return self.client is None

    def pause(self, diagnosis: diagnostics.Diagnosis, now: datetime) -> None:
        """The studio's sending stops until a test or a save of the settings succeeds."""
        mailsettings.record_failure(self.account, "smtp", diagnosis, now)
        db.session.commit()

    def _connect(self) -> smtplib.SMTP:
        return mailcheck.open_smtp(mailsettings.smtp_settings(self.account), self.timeout, self.context,
                                   allow_private=mailsettings.private_hosts_allowed())

    def send(self, message: Message, unsubscribe: str, studio_name: str, now: datetime) -> None:
        if self.client is None:
            self.client = self._connect()
        recipient = addresses.on_the_wire(message.recipient)
        if not recipient.isascii():  # (SMTPUTF8 is not supported yet)
            raise DeliveryFailure(diagnostics.Diagnosis(diagnostics.CAUSES["address_not_sendable"],
                                                        "Letters such as ü before the @ cannot be sent to yet."), "rcpt")
        mime = composer.build_email(message, self.account, unsubscribe, studio_name, now,
                                    eight_bit=self.client.has_extn("8bitmime"),
                                    untrusted=composer.typed_by_others(message))
        options = ["BODY=8BITMIME"] if composer.needs_eight_bit(mime) else []
        wire = composer.wire_bytes(mime)
        try:
            self.client.sendmail(self.account.from_address, [recipient], wire, options)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            self._fail(diagnostics.classify("smtp", "rcpt", f"{code} {diagnostics.decoded(text)}", code,
                                            **self._server()), "rcpt")
        except smtplib.SMTPSenderRefused as exc:
            self._fail(diagnostics.classify_exception(exc, "smtp", "mail_from", **self._server()), "mail_from")
        except smtplib.SMTPDataError as exc:
            self._fail(diagnostics.classify_exception(exc, "smtp", "data", **self._server()), "data")
        except (OSError, smtplib.SMTPException) as exc:
            # The connection broke after it worked (the server closed it, a network blip): a
            # temporary failure, whatever the words; the next message reconnects.
            self.client = None
            raise DeliveryFailure(diagnostics.Diagnosis(diagnostics.CAUSES["temporary_server_error"],
                                                    f"{type(exc).__name__}: {exc}"[:500]), "lost") from None
        if self.sent is not None:
            self.sent.append(wire)

    def _server(self) -> dict:
        """The server as the studio entered it: the diagnosis weighs the security in use."""
        return {"host": self.account.smtp_host, "port": self.account.smtp_port, "security": self.account.smtp_security}

    def _fail(self, diagnosis: diagnostics.Diagnosis, phase: str) -> None:
        try:
            self.client.rset()  # the connection stays usable for the next recipient
        except (OSError, smtplib.SMTPException):
            self.close()
        raise DeliveryFailure(diagnosis, phase)


def send_service_mail(account: MailAccount, studio_name: str, recipient: str, subject: str, body: str,
                      now: datetime, timeout: float = 15.0) -> bool:
    """Send a message about the app itself through the studio's account, at once and once (no
    outbox, no retry: the person who asked for it is told whether it went). False when the
    account is not set up, is paused, or the server refused."""
    recipient = addresses.on_the_wire(recipient)  # the envelope as the To header says it
    if not account.smtp_host or not account.from_address or account.smtp_failing_since is not None \
            or not recipient.isascii():
        return False
    try:
        client = mailcheck.open_smtp(mailsettings.smtp_settings(account), timeout, mailsettings.tls_context(),
                                     allow_private=mailsettings.private_hosts_allowed())
        try:
            mime = composer.build_service_email(account, studio_name, recipient, subject, body, now,
                                                eight_bit=client.has_extn("8bitmime"))
            options = ["BODY=8BITMIME"] if mime["Content-Transfer-Encoding"] == "8bit" else []
            client.sendmail(account.from_address, [recipient], composer.wire_bytes(mime), options)
        finally:
            mailcheck.quit_smtp(client)  # after the server took the message, a failing goodbye changes nothing
    except (OSError, smtplib.SMTPException, DeliveryFailure):
        return False
    return True


def file_sent_copies(account: MailAccount, sent: list[bytes], timeout: float) -> int:
    """Copies of mail the app sent (as sent, read) into the studio's Sent folder, over one
    connection; returns how many. The mail went out already: a failure here is logged, not a
    delivery failure, and nothing is retried. An inbox whose sign-in the owner must fix is left
    alone (providers lock accounts that keep signing in with a wrong password)."""
    if account.imap_failure_cause in mailsettings.OWNER_MUST_FIX:
        return 0
    filed, client = 0, None
    try:
        client = mailcheck.open_imap(mailsettings.imap_settings(account), timeout, mailsettings.tls_context(),
                                     allow_private=mailsettings.private_hosts_allowed())
        folder = mailcheck.special_folder(client.list_folders(), b"\\Sent")
        if folder is None:
            log.warning("Studio %s's mailbox has no Sent folder to file copies in", account.studio_id)
            return 0
        for raw in sent:
            client.append(folder, raw, flags=[SEEN], msg_time=datetime.now(timezone.utc))
            filed += 1
    except BaseTimeoutException:
        raise  # RQ's job timeout: the batch's lease ends with it
    except Exception:  # a sign-in failure, IMAPClient's, socket and TLS errors alike
        log.warning("Filing copies in studio %s's Sent folder stopped after %d of %d", account.studio_id, filed,
                    len(sent), exc_info=True)
    finally:
        mailcheck.close_imap(client)
    return filed


CHANNEL = Email()
