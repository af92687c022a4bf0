"""An invoice's messages through the one catalogue, scheduler and outbox: a profile's
notifications to the invoice's client and to the studio itself, made by the real scheduler pass,
sent by the real worker process into the test SMTP server, on the days their triggers say
(time-machine), in German with € amounts; a payment recorded after a reminder was made but before
it was sent skips it ("paid"). On SQLite and PostgreSQL."""
import email
from datetime import date, datetime, timedelta, timezone
from email import policy

import pytest
import sqlalchemy as sa
import time_machine

from shutterbell import contacts, invoices, jobs, mailsettings, outbox
from shutterbell.extensions import db
from shutterbell.models import Message, utcnow
from shutterbell.profiles import NotificationInput

from .conftest import text_of
from .mailservers import PASSWORD, SENDER, USERNAME
from .test_delivery_faults import Crew
from .test_scheduling import make_profile, use

UTC = timezone.utc
ISSUED = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # 11:00 in Berlin
DUE = date(2026, 12, 15)


def to(audience, trigger, subject, body, days=None):
    return NotificationInput(trigger=trigger, days=days, audience=audience, channel="email", subject=subject,
                             body=body)


NOTIFICATIONS = [
    to("client", "invoice_issued", "Rechnung {{ invoice.number }} von {{ studio.name }}",
       "Guten Tag {{ client.name }},\n\nanbei Rechnung {{ invoice.number }} über {{ invoice.total }}, "
       "fällig am {{ invoice.due_on }}. Grüße aus Köln 📸"),
    to("client", "days_before_invoice_due", "Erinnerung: Rechnung {{ invoice.number }}",
       "Offen sind noch {{ invoice.open }}, fällig am {{ invoice.due_on }}.", days=3),
    to("client", "days_after_invoice_due_unpaid", "Zahlungserinnerung {{ invoice.number }}",
       "Leider ist {{ invoice.open }} noch offen.", days=2),
    to("client", "payment_received", "Danke für Ihre Zahlung",
       "Wir haben {{ payment.amount }} am {{ payment.paid_on }} erhalten ({{ payment.method }}). "
       "Offen: {{ invoice.open }}."),
    to("studio", "payment_received", "Zahlung: {{ client.name }}",
       "{{ payment.amount }} für Rechnung {{ invoice.number }}; offen {{ invoice.open }}."),
]


@pytest.fixture
def studio(configure, olivia, server, certificate):
    configure(mail_ca_file=str(certificate[0]))
    given = mailsettings.SmtpInput("127.0.0.1", server[1], "starttls", USERNAME, PASSWORD, SENDER,
                                   "Fotostudio Lichtblick", "")
    mailsettings.save_smtp(mailsettings.account_of(olivia.studio), given, True, utcnow())
    olivia.studio.locale = "de_DE"
    db.session.commit()
    return olivia.studio


@pytest.fixture
def client(studio):
    return contacts.save(studio, None, contacts.ContactInput("Jürgen Weiß", emails=["juergen@example.de"],
                                                             company="Weiß & Söhne"))


def issued_invoice(studio, client, job=None):
    invoice = invoices.save(studio, None, invoices.InvoiceInput(
        client.id, job_id=job.id if job else None, currency="EUR", due_on=DUE,
        lines=[invoices.LineInput("Hochzeitsreportage – 8 Stunden", "1", "1.890,00", "19")]))
    invoices.issue(invoice, ISSUED.date())
    return invoice


def received(mailbox) -> list:
    return [email.message_from_bytes(raw, policy=policy.default) for raw in mailbox.received]


def test_each_invoice_trigger_reaches_the_client_and_the_studio_on_its_day_through_the_real_worker(
        app, studio, client, server, certificate):
    mailbox = server[0]
    job = jobs.save_job(studio, None, jobs.JobInput(name="Hochzeit Weiß", profile_id=None), None)
    use(job, make_profile(studio, *NOTIFICATIONS))
    with time_machine.travel(ISSUED, tick=True):
        invoice = issued_invoice(studio, client, job)
        Crew(app, str(certificate[0])).finish(1, mailbox, timeout=60)
    issued, = received(mailbox)
    assert (issued["To"], issued["Subject"]) == ("juergen@example.de", f"Rechnung {invoice.number} von Studio Lichtblick")
    text = issued.get_body(("plain",)).get_content()
    assert "Guten Tag Jürgen Weiß," in text and "über 2.249,10\xa0€, fällig am 15. Dezember 2026" in text
    assert "List-Unsubscribe" not in issued  # service mail: nothing to unsubscribe from

    # 3 days before the due date at the studio's send time (09:00 in Berlin)
    with time_machine.travel(datetime(2026, 12, 12, 8, 1, tzinfo=UTC), tick=True):
        Crew(app, str(certificate[0])).finish(2, mailbox, timeout=60)
    reminder = received(mailbox)[1]
    assert reminder["Subject"] == f"Erinnerung: Rechnung {invoice.number}"
    assert "Offen sind noch 2.249,10\xa0€, fällig am 15. Dezember 2026." in reminder.get_body(("plain",)).get_content()
    row = db.session.scalar(sa.select(Message).where(Message.subject == reminder["Subject"]))
    assert row.due_at == datetime(2026, 12, 12, 8, 0, tzinfo=UTC) and row.contact_id == client.id

    # A part payment: the client thanks and the owner's alert, at once
    with time_machine.travel(datetime(2026, 12, 14, 15, 0, tzinfo=UTC), tick=True):
        invoices.record_payment(invoice, invoices.PaymentInput("1.000,00", date(2026, 12, 14), "bank_transfer"),
                                utcnow())
        Crew(app, str(certificate[0])).finish(4, mailbox, timeout=60)
    thanks, alert = sorted(received(mailbox)[2:], key=lambda m: m["To"] != "juergen@example.de")
    assert "Wir haben 1.000,00\xa0€ am 14. Dezember 2026 erhalten (Bank transfer). Offen: 1.249,10\xa0€." in (
        thanks.get_body(("plain",)).get_content())
    assert alert["To"] == "olivia@lichtblick.example" and alert["Subject"] == "Zahlung: Jürgen Weiß"

    # 2 days after the due date and still unpaid: the reminder is made by the pass, then the rest
    # is paid before the worker sends it: skipped, "paid", never sent.
    crew = None
    with time_machine.travel(datetime(2026, 12, 17, 8, 1, tzinfo=UTC), tick=True):
        crew = Crew(app, str(certificate[0]))
        assert outbox.schedule(utcnow(), crew.policy) == 1
        late, = db.session.scalars(sa.select(Message).where(Message.status == "scheduled"))
        assert late.due_at == datetime(2026, 12, 17, 8, 0, tzinfo=UTC)
        invoices.record_payment(invoice, invoices.PaymentInput("1.249,10", date(2026, 12, 17), "cash"), utcnow())
        Crew(app, str(certificate[0])).finish(6, mailbox, timeout=60)  # the two payment messages
        db.session.expire_all()
        assert (late.status, late.last_error) == ("skipped", "The invoice was paid.")
    assert len(mailbox.received) == 6
    assert not any(m["Subject"].startswith("Zahlungserinnerung") for m in received(mailbox))


def test_an_invoice_without_a_job_follows_the_studios_default_profile(app, studio, client):
    profile = make_profile(studio, NOTIFICATIONS[0])
    studio.default_profile_id = profile.id
    db.session.commit()
    policy = Crew(app, "").policy
    with time_machine.travel(ISSUED, tick=False):
        invoice = issued_invoice(studio, client)
        assert outbox.schedule(utcnow() + timedelta(seconds=1), policy) == 1
        assert outbox.schedule(utcnow() + timedelta(seconds=2), policy) == 0  # made once
    message, = db.session.scalars(sa.select(Message))
    assert (message.recipient, message.contact_id, message.job_id, message.status) == (
        "juergen@example.de", client.id, None, "scheduled")
    assert message.key == f"{profile.notifications[0].id}:c{client.id}:0:invoice:{invoice.id}"


def test_the_invoice_page_lists_the_reminders_to_come_and_the_messages_made(app, studio, client, as_sam):
    job = jobs.save_job(studio, None, jobs.JobInput(name="Hochzeit Weiß", profile_id=None), None)
    use(job, make_profile(studio, *NOTIFICATIONS))
    with time_machine.travel(ISSUED, tick=False):  # (the page is asked for today, before the 12th)
        invoice = issued_invoice(studio, client, job)
        outbox.schedule(utcnow() + timedelta(seconds=1), Crew(app, "").policy)
    page = text_of(as_sam.get(f"/invoices/{invoice.id}"))
    coming = page[page.index("Coming"):page.index("Made")]
    assert coming.index("Dec 12, 2026, 9:00:00\u202fAM") < coming.index("3 days before an invoice is due") < coming.index(
        "Dec 17, 2026, 9:00:00\u202fAM") < coming.index("2 days after an invoice was due and is still unpaid")
    assert "The client" in coming and "Erinnerung: Rechnung {{ invoice.number }}" in coming
    made = page[page.index("Made"):]  # "invoice issued", made by the pass, written when the worker sends it
    assert "juergen@" in made and "(written when it is sent)" in made and "Scheduled" in made
    invoices.record_payment(invoice, invoices.PaymentInput("2.249,10", date(2026, 12, 1), "cash"), utcnow())
    page = text_of(as_sam.get(f"/invoices/{invoice.id}"))
    assert "Coming" not in page and "3 days before an invoice is due" not in page  # paid: no reminder goes
