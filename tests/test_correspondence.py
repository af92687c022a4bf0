"""Email staff write to a contact by hand: a reply to a synced mail keeps its thread, goes through
the outbox and the real worker to a real SMTP server as a personal email (no unsubscribe, not
marked automatic), and shows on the contact's tab; what cannot be sent is said on the form with
nothing typed lost. SQLite and PostgreSQL."""
import email
import email.policy

import sqlalchemy as sa
from rq import Queue, SimpleWorker

from shutterbell import contacts, inbox, mail_bodies, mailsettings, queue, suppression
from shutterbell.extensions import db
from shutterbell.models import MailItem, Message

from .conftest import text_of
from .mailservers import PASSWORD, SENDER, USERNAME
from .test_inbox import STUDIO, T0, mail
from .test_inbox import account as inbox_account  # noqa: F401 (a fixture)
from .test_inbox import mailbox  # noqa: F401 (a fixture)


def sending_too(account, server, configure, certificate):
    """The studio sends through the test SMTP server (no preset: its provider keeps no Sent copy)."""
    configure(mail_ca_file=str(certificate[0]))
    mailsettings.save_smtp(account, mailsettings.SmtpInput(
        "127.0.0.1", server[1], "starttls", USERNAME, PASSWORD, SENDER, "Studio Lichtblick", ""), True, T0)


def work(app):
    """What the worker has been handed now, done by a real RQ worker."""
    rq_queue = Queue(queue.urgent(app.config["QUEUE_NAME"]), connection=queue.connect(app.config["REDIS_URL"]))
    SimpleWorker([rq_queue], connection=rq_queue.connection).work(burst=True, logging_level="WARNING")


def test_a_reply_to_a_client_keeps_the_thread_and_goes_out_as_a_personal_email(
        app, olivia, inbox_account, mailbox, server, configure, certificate, as_sam):  # noqa: F811
    put, _ = mailbox
    sending_too(inbox_account, server, configure, certificate)
    helene = contacts.save(olivia.studio, None, contacts.ContactInput(
        "Hélène Dubois", emails=["helene@example.fr", "h.dubois@atelier.example"]))
    put("INBOX", mail("<q1@example.fr>", "Hélène Dubois <helene@example.fr>", STUDIO, "Photos du mariage ?",
                      "Content-Type: text/plain; charset=utf-8\r\n\r\nBonjour,\r\nquand arrivent les photos ? 📸\r\n"
                      .encode(), extra=b"References: <first@example.fr>\r\n"))
    inbox.sync(inbox_account, T0)
    item = db.session.scalar(sa.select(MailItem).where(MailItem.message_id == "<q1@example.fr>"))

    draft = text_of(as_sam.get(f"/contacts/{helene.id}/write?reply={item.id}"))
    assert "Re: Photos du mariage ?" in draft and "&gt; quand arrivent les photos ? 📸" in draft
    answer = "Bonjour Hélène,\nvendredi ! Les tirages coûtent 12,50 €. Grüße, Jürgen\n\n> quand arrivent ?"
    response = as_sam.post(f"/contacts/{helene.id}/write?reply={item.id}", {
        "to": "helene@example.fr", "subject": "Re: Photos du mariage ?", "body": answer, "reply_to": str(item.id)})
    assert response.status_code == 302

    work(app)
    sent = email.message_from_bytes(server[0].received[-1], policy=email.policy.default)
    assert sent["To"] == "helene@example.fr" and sent["Subject"] == "Re: Photos du mariage ?"
    assert sent["In-Reply-To"] == "<q1@example.fr>" and sent["References"] == "<first@example.fr> <q1@example.fr>"
    assert sent["List-Unsubscribe"] is None and sent["Auto-Submitted"] is None  # personal, not automatic
    assert sent.get_body(("plain",)).get_content().replace("\r\n", "\n").strip() == answer.strip()

    db.session.expire_all()
    message = db.session.scalar(sa.select(Message).where(Message.recipient == "helene@example.fr"))
    assert message.status == "sent" and message.customer_id is None
    tab = text_of(as_sam.get(f"/contacts/{helene.id}"))
    assert "Your email to Hélène Dubois is on its way." in tab and "Re: Photos du mariage ?" in tab

    # This server is no Gmail: the worker filed a copy in the Sent folder ("Gesendet", flagged \Sent), read
    client = mailbox[1]
    client.select_folder("Gesendet", readonly=True)
    filed = client.search(["HEADER", "Message-ID", message.message_id])
    assert len(filed) == 1 and b"\\Seen" in client.get_flags(filed)[filed[0]]
    inbox.sync(inbox_account, T0)  # and the sync puts it in her conversation, once
    reply = db.session.scalar(sa.select(MailItem).where(MailItem.message_id == message.message_id))
    assert reply.thread_key == item.thread_key == "<first@example.fr>"
    assert [copy.name for copy in mail_bodies.copies_of(reply)] == ["Gesendet"]


def test_what_cannot_be_sent_is_said_on_the_form_and_nothing_typed_is_lost(olivia, as_sam):
    zofia = contacts.save(olivia.studio, None, contacts.ContactInput("Zofia Łukasiewicz", emails=["zofia@example.pl"]))
    body = "Dzień dobry, zdjęcia są gotowe – 25 € za odbitki."
    empty = as_sam.post(f"/contacts/{zofia.id}/write", {"to": "zofia@example.pl", "subject": " ", "body": body},
                        headers={"HX-Request": "true"})
    assert empty.status_code == 422 and "This field is required." in text_of(empty) and body in text_of(empty)
    stranger = as_sam.post(f"/contacts/{zofia.id}/write", {"to": "someone@else.example", "subject": "Hi", "body": body})
    assert stranger.status_code == 422 and "Not a valid choice" in text_of(stranger)
    suppression.suppress(olivia.studio.id, "email", "zofia@example.pl", "erased", T0)
    db.session.commit()
    erased = as_sam.post(f"/contacts/{zofia.id}/write", {"to": "zofia@example.pl", "subject": "Zdjęcia", "body": body})
    assert erased.status_code == 422 and "do-not-contact" in text_of(erased)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Message)) == 0
    assert "once the owner sets it up under Email" in text_of(as_sam.get(f"/contacts/{zofia.id}/write"))  # no sending account yet


def test_copies_go_to_the_sent_folder_only_where_the_provider_keeps_none(olivia):
    account = mailsettings.account_of(olivia.studio)
    account.imap_host = "imap.example.de"
    for smtp_host, choice, expected in (("smtp.ionos.de", "auto", True), ("smtp.gmail.com", "auto", False),
                                        ("smtp.office365.com", "auto", False), ("smtp.gmail.com", "always", True),
                                        ("mail.example.de", "never", False)):
        account.smtp_host, account.sent_copy = smtp_host, choice
        assert mailsettings.files_sent_copies(account) is expected, (smtp_host, choice)
    account.imap_host, account.sent_copy = "", "always"
    assert not mailsettings.files_sent_copies(account)  # no inbox to file them in


def test_an_automated_message_is_filed_in_sent_but_stays_off_the_mailbox_list(
        app, olivia, inbox_account, mailbox, server, configure, certificate):  # noqa: F811
    """Its copy is on the contact's tab from the outbox already, with its status."""
    from datetime import datetime, timezone

    from shutterbell import customers, jobs, messages, outbox

    sending_too(inbox_account, server, configure, certificate)
    job = jobs.save_job(olivia.studio, None, jobs.JobInput(name="Kita Sonnenschein", profile_id=None), None)
    now = datetime.now(timezone.utc)
    customers.register(job, customers.CustomerInput("Jürgen", "Weiß", "juergen@example.com", email_consent=True),
                       "staff", {"email": "ok"}, now)
    messages.send_one_off(job, messages.OneOffInput("all", "Die Fotos sind online 📸",
                                                    "Hallo {{ customer.first_name }}, Abzüge ab 12,50 €.", None,
                                                    "service"), now)
    outbox.dispatch_now()
    work(app)
    db.session.expire_all()
    one_off = db.session.scalar(sa.select(Message).where(Message.subject == "Die Fotos sind online 📸"))
    assert one_off.status == "sent", one_off.last_error
    client = mailbox[1]
    client.select_folder("Gesendet", readonly=True)
    assert len(client.search(["HEADER", "Message-ID", one_off.message_id])) == 1
    inbox.sync(inbox_account, T0)
    assert db.session.scalar(sa.select(MailItem).where(MailItem.message_id == one_off.message_id)) is None
