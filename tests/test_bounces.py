"""Bounces: delivery reports (RFC 3464) found by the inbox sync on a real Dovecot, read-only.
A permanent failure marks the sent message bounced and suppresses the address; a delay warning or
an ordinary email changes nothing; an inbox that cannot be reached shows the Inbox sync banner."""
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from imapclient import IMAPClient

from shutterbell import bounces, inbox, mailsettings
from shutterbell.extensions import db
from shutterbell.models import MailAccount, MailItem, Message, Suppression

from .conftest import text_of
from .mailservers import PASSWORD, USERNAME
from .test_outbox import T0, account, deliver, job, mailbox, sign_up  # noqa: F401,F811 (fixtures)

NOW = T0 + timedelta(hours=2)


def report(recipient: str, message_id: str, action="failed", status="5.1.1",
           diagnostic="smtp; 550 5.1.1 <{r}>: Recipient address rejected: User unknown in virtual mailbox table") -> bytes:
    """A delivery report as Postfix writes it: explanation, delivery-status, the original's headers."""
    return f"""From: MAILER-DAEMON@mail.lichtblick.example (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: studio@lichtblick.example
Date: Sun, 01 Mar 2026 14:00:00 +0000
Message-ID: <report-{recipient}@mail.lichtblick.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

I'm sorry to have to inform you that your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.lichtblick.example
Arrival-Date: Sun, 01 Mar 2026 13:59:58 +0000

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: {action}
Status: {status}
Diagnostic-Code: {diagnostic.format(r=recipient)}

--B
Content-Type: text/rfc822-headers

From: Studio Lichtblick <studio@lichtblick.example>
To: {recipient}
Subject: Hi
Message-ID: {message_id}

--B--
""".replace("\n", "\r\n").encode()


def test_a_report_names_the_recipient_the_status_and_the_original():
    found = bounces.read_report(report("Anna@Example.com", "<abc@lichtblick.example>"))
    assert found == [bounces.Bounce("anna@example.com", "5.1.1", "550 5.1.1 <Anna@Example.com>: Recipient address "
                                    "rejected: User unknown in virtual mailbox table", "<abc@lichtblick.example>")]


def test_a_report_names_a_domain_with_umlauts_as_the_studio_stores_it():
    """We send to joerg@müller.example as joerg@xn--mller-kva.example: its report names that."""
    found, = bounces.read_report(report("Joerg@xn--mller-kva.example", "<abc@lichtblick.example>"))
    assert found.recipient == "joerg@müller.example"


def test_delays_and_ordinary_mail_are_not_bounces():
    assert bounces.read_report(report("a@example.com", "<x@y>", action="delayed", status="4.4.1")) == []
    assert bounces.read_report(b"From: a@example.com\r\nSubject: Thanks!\r\n\r\nLovely photos.\r\n") == []


def test_a_report_in_another_language_or_encoding_is_read():
    raw = report("a@example.com", "<x@y>", diagnostic="smtp; 550 Postfach unbekannt über").decode().encode("latin-1")
    found, = bounces.read_report(raw)
    assert found.recipient == "a@example.com" and found.status == "5.1.1" and "Postfach" in found.diagnostic


@pytest.fixture
def studio_inbox(configure, imap_ports, certificate, app, monkeypatch):
    """The Dovecot user's INBOX; what a test puts there is removed afterwards."""
    configure(mail_ca_file=str(certificate[0]))
    client = IMAPClient("127.0.0.1", imap_ports[1], ssl=True, ssl_context=mailsettings.tls_context())
    client.login(USERNAME, PASSWORD)
    client.select_folder("INBOX")
    before = max(client.search(["ALL"]), default=0)

    def put(raw: bytes) -> None:
        client.append("INBOX", raw, msg_time=datetime(2026, 3, 1, 14, tzinfo=timezone.utc))

    yield put, client
    client.select_folder("INBOX")
    added = [uid for uid in client.search(["ALL"]) if uid > before]
    if added:
        client.delete_messages(added)
        client.expunge()
    client.logout()


def watch_inbox(account, port):
    mailsettings.save_imap(account, mailsettings.ImapInput("127.0.0.1", port, "ssl", USERNAME, PASSWORD, ["INBOX"]),
                           True, T0)


def test_a_bounce_marks_the_message_and_suppresses_the_address(job, mailbox, account, studio_inbox, imap_ports,
                                                                as_olivia):
    put, client = studio_inbox
    sign_up(job, "Anna", at=T0), sign_up(job, "Ben", at=T0)
    deliver(T0 + timedelta(minutes=1))
    anna = db.session.scalar(sa.select(Message).where(Message.recipient == "anna@example.com"))
    put(report("anna@example.com", anna.message_id))
    put(b"From: ben@example.com\r\nSubject: Thank you\r\n\r\nLovely.\r\n")  # a reply, not a report
    # Reports that quote no message of ours change nothing: the owner's own mail bouncing, or a forged one.
    put(report("ben@example.com", "<owner-wrote-this@lichtblick.example>"))
    put(b"Content-Type: multipart/report; report-type=delivery-status; boundary=X\r\n\r\n--X--\r\n")  # broken
    watch_inbox(account, imap_ports[1])
    inbox.sync(db.session.get(MailAccount, account.id), NOW)  # the sync finds the reports as they arrive
    db.session.expire_all()
    rows = {m.recipient: m for m in db.session.scalars(sa.select(Message))}
    assert rows["anna@example.com"].status == "bounced" and rows["ben@example.com"].status == "sent"
    assert "User unknown" in rows["anna@example.com"].last_error
    assert rows["anna@example.com"].cause == "mailbox_unavailable"
    listed = db.session.scalar(sa.select(Suppression).where(Suppression.address == "anna@example.com"))
    assert listed.reason == "bounced" and listed.channel == "email"
    assert db.session.scalar(sa.select(Suppression).where(Suppression.address == "ben@example.com")) is None
    assert "Bounced" in text_of(as_olivia.get("/outbox/?status=bounced"))
    # Read-only: the report stays unread in the inbox; reading it again changes nothing.
    client.select_folder("INBOX", readonly=True)
    assert all(b"\\Seen" not in flags for flags in client.get_flags(client.search(["ALL"])).values())
    assert inbox.sync(db.session.get(MailAccount, account.id), NOW) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MailItem).where(
        MailItem.subject.like("%Delivery%"))) == 0  # reports are not kept as mail


def test_a_message_bounced_for_itself_leaves_the_address_open(job, mailbox):
    """A report that the message was too big (or spam) is that message's fault: it shows as
    bounced with what to change, and the customer still gets the next one."""
    sign_up(job, "Zoë", at=T0).email = "zoe@example.com"
    deliver(T0 + timedelta(minutes=1))
    zoe = db.session.scalar(sa.select(Message))
    bounces.apply(job.studio_id, [bounces.Bounce("zoe@example.com", "5.3.4", "552 5.3.4 Message size exceeds fixed "
                                                 "limit (Grüße)", zoe.message_id)], NOW)
    db.session.expire_all()
    assert (zoe.status, zoe.cause) == ("bounced", "message_refused")
    assert db.session.scalar(sa.select(Suppression).where(Suppression.address == "zoe@example.com")) is None


def test_a_bounce_for_a_message_whose_send_was_not_recorded_stops_its_resend(job, mailbox):
    """The connection broke after the server took the message: the outbox waits to send it again.
    The recipient's server bounces the first copy meanwhile: the address is suppressed, and the
    resend is skipped instead of going to an address known to be dead."""
    sign_up(job, "Anna", at=T0)
    deliver(T0 + timedelta(minutes=1))
    anna = db.session.scalar(sa.select(Message))
    anna.status, anna.sent_at = "scheduled", None  # as a retry after a lost connection leaves it
    db.session.commit()
    bounces.apply(job.studio_id, [bounces.Bounce("anna@example.com", "5.1.1", "550 User unknown", anna.message_id)],
                  NOW)
    deliver(NOW + timedelta(minutes=1))
    db.session.expire_all()
    assert (anna.status, len(mailbox.received)) == ("skipped", 1)
    assert db.session.scalar(sa.select(Suppression.reason).where(Suppression.address == "anna@example.com")) == "bounced"


def test_an_inbox_that_refuses_the_password_shows_the_banner_until_it_works(job, account, studio_inbox, imap_ports,
                                                                             as_olivia):
    watch_inbox(account, imap_ports[1])
    saved = db.session.get(MailAccount, account.id)
    saved.imap_credentials = mailsettings.crypto.seal({"password": "revoked"})
    db.session.commit()
    inbox.sync(saved, NOW)
    page = text_of(as_olivia.get("/"))
    assert "Inbox sync:" in page and "username or password" in page
    # Until the owner fixes it, no more sign-ins with the wrong password (providers lock accounts).
    assert account.id not in [a.id for a in inbox.accounts_to_sync()]
    saved.imap_credentials = mailsettings.crypto.seal({"password": PASSWORD})
    db.session.commit()
    inbox.sync(saved, NOW)
    assert db.session.get(MailAccount, account.id).imap_failing_since is None
    assert "Inbox sync:" not in text_of(as_olivia.get("/"))
