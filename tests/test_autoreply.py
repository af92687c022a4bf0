"""The automatic answer to a first mail from someone new, against a real Dovecot and SMTP server
through the real worker: once per address in the chosen days, never to a contact, automatic
mail, a mailing list, a no-reply sender or old mail a sync finds. SQLite and PostgreSQL."""
import email
import email.policy
import re
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import sqlalchemy as sa
import time_machine

from shutterbell import autoreply, contacts, inbox, mail_templates, outbox
from shutterbell.extensions import db
from shutterbell.models import MailAccount, Message

from .conftest import text_of
from .test_correspondence import sending_too, work
from .test_inbox import STUDIO, mail
from .test_inbox import account as inbox_account  # noqa: F401 (a fixture)
from .test_inbox import mailbox  # noqa: F401 (a fixture)

TEXT = "Content-Type: text/plain; charset=utf-8\r\n\r\nHabt ihr im Mai Zeit? Budget 800 €\r\n".encode()


def dated(raw: bytes, moment: datetime) -> bytes:
    return raw.replace(b"Mon, 02 Mar 2026 08:00:00 +0100", format_datetime(moment).encode())


def test_someone_new_gets_the_answer_once_and_automatic_mail_never(
        app, olivia, inbox_account, mailbox, server, configure, certificate, as_olivia):  # noqa: F811
    put, _ = mailbox
    sending_too(inbox_account, server, configure, certificate)
    thanks = mail_templates.save(olivia.studio, None, mail_templates.TemplateInput(
        "Danke", "Danke für Ihre Nachricht, {{ customer.first_name }}",
        "Hallo {{ customer.first_name }},\nwir melden uns innerhalb von 24 Stunden.\nGrüße aus Köln – {{ studio.name }} 📸"))
    assert as_olivia.post("/settings/templates/autoreply", {"template": str(thanks.id), "days": "0"}).status_code == 422
    assert as_olivia.post("/settings/templates/autoreply", {"template": str(thanks.id), "days": "14"}).status_code == 302
    soon = datetime.now(timezone.utc) + timedelta(minutes=1)
    contacts.save(olivia.studio, None, contacts.ContactInput("Jürgen Weiß", emails=["juergen@example.com"]))
    for message_id, sender, extra in (
            ("<z1@example.pl>", "Zoë Wójcik <zoe@example.pl>", b""),
            ("<z2@example.pl>", "Zoë Wójcik <zoe@example.pl>", b""),  # her second: answered once is enough
            ("<j1@example.com>", "juergen@example.com", b""),  # a contact
            ("<v1@example.de>", "urlaub@example.de", b"Auto-Submitted: auto-replied\r\n"),
            ("<n1@news.example>", "news@news.example", b"List-Id: <news.news.example>\r\n"),
            ("<s1@shop.example>", "noreply@shop.example", b""),
            ("<b1@example.de>", "bulk@example.de", b"Precedence: bulk\r\n"),
            ("<x1@example.de>", "abwesend@example.de", b"X-Autoreply: yes\r\n"),  # Microsoft's way
            ("<k1@example.de>", "bekannt@example.de", b""),  # wrote before: no first mail
            ("<u1@example.de>", "Spam www.evil.example <werbung@example.de>", b""),
            ("<s2@example.de>", "olivia@lichtblick.example", b""),  # the owner, from her own address
            ("<c1@lichtblick.example>", "Maximilian Groß <max@lichtblick.example>", b"")):  # a colleague
        put("INBOX", dated(mail(message_id, sender, STUDIO, "Anfrage Hochzeit", TEXT, extra=extra), soon))
    put("INBOX", dated(mail("<old@example.de>", "alt@example.de", STUDIO, "Alt", TEXT), soon - timedelta(days=7)))
    put("INBOX", dated(mail("<k0@example.de>", "bekannt@example.de", STUDIO, "Alt", TEXT), soon - timedelta(days=30)))
    put("Gesendet", dated(mail("<out@lichtblick.example>", STUDIO, "neu@example.de", "Angebot", TEXT), soon))
    inbox.sync(inbox_account, soon)
    answers = db.session.scalars(sa.select(Message)).all()
    assert sorted((m.recipient, m.subject) for m in answers) == [
        ("werbung@example.de", "Danke für Ihre Nachricht, Spam"),  # the name's link left out
        ("zoe@example.pl", "Danke für Ihre Nachricht, Zoë")]
    assert "evil" not in next(m.body for m in answers if m.recipient == "werbung@example.de")

    with time_machine.travel(soon + timedelta(seconds=1), tick=True):  # the answer is due when the sync ran
        outbox.dispatch_now()
        work(app)
    sent = next(m for m in (email.message_from_bytes(raw, policy=email.policy.default) for raw in server[0].received)
                if m["To"] == "zoe@example.pl")
    assert sent["To"] == "zoe@example.pl" and sent["In-Reply-To"] == "<z1@example.pl>"
    assert sent["Auto-Submitted"] == "auto-replied" and sent["List-Unsubscribe"] is None
    assert "Hallo Zoë,\nwir melden uns" in sent.get_body(("plain",)).get_content().replace("\r\n", "\n")

    put("INBOX", dated(mail("<z3@example.pl>", "zoe@example.pl", STUDIO, "Noch eine Frage", TEXT), soon))
    inbox.sync(inbox_account, soon)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Message)) == 2  # within 14 days: once
    page = text_of(as_olivia.get("/settings/templates/"))
    assert "Automatic answer" in page and re.search(r'<input[^>]*name="days"[^>]*value="14"', page)
    assert as_olivia.post("/settings/templates/autoreply", {"template": "", "days": "14"}).status_code == 302
    assert db.session.scalar(sa.select(MailAccount.autoreply_template_id)) is None


def test_a_studio_at_a_mailbox_provider_answers_others_there():
    """Only the studio's own domain is colleagues: a studio at gmail.com is not at home there."""
    assert autoreply._colleague("max@lichtblick.example", "olivia@lichtblick.example")
    assert not autoreply._colleague("anna@gmail.com", "studio.lichtblick@gmail.com")
    assert not autoreply._colleague("anna@notlichtblick.example", "olivia@lichtblick.example")
