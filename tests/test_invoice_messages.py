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

from shutterbell import contacts, invoices, jobs, mailsettings, materialise, outbox, scheduling, triggers
from shutterbell.extensions import db
from shutterbell.message_keys import MessageKey
from shutterbell.models import Message, utcnow
from shutterbell.profiles import NotificationInput

from .conftest import text_of
from .mailservers import PASSWORD, SENDER, USERNAME
from .test_delivery_faults import Crew
from .test_scheduling import make_profile, still_wanted, use

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
    # the real worker fills in the method in the German studio's language (its catalogue)
    assert "Wir haben 1.000,00\xa0€ am 14. Dezember 2026 erhalten (Überweisung). Offen: 1.249,10\xa0€." in (
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
        # the real worker says why in the German studio's language (its outbox shows it)
        assert (late.status, late.last_error) == ("skipped", "Die Rechnung wurde bezahlt.")
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
    message = db.session.scalar(sa.select(Message))
    assert as_sam.get(f"/outbox/{message.id}").status_code == 200
    assert "juergen@" in text_of(as_sam.get("/outbox/"))
    invoices.record_payment(invoice, invoices.PaymentInput("2.249,10", date(2026, 12, 1), "cash"), utcnow())
    page = text_of(as_sam.get(f"/invoices/{invoice.id}"))
    assert "Coming" not in page and "3 days before an invoice is due" not in page  # paid: no reminder goes


INVOICE_STOPS = [(trigger, stop) for trigger in triggers.CATALOGUE.values() for stop in trigger.stops
                 if not trigger.reaches_customers]


@pytest.mark.parametrize("trigger, stop", INVOICE_STOPS, ids=[f"{t.key}-{s.attribute}" for t, s in INVOICE_STOPS])
def test_what_stops_an_invoice_trigger_stops_it_in_all_three_readers(studio, client, trigger, stop):
    """Once the invoice is paid (or void), its reminder leaves the invoice page, the pass makes
    none, and one made before is skipped at send time with the catalogue's reason."""
    profile = make_profile(studio, to("client", trigger.key, "Rechnung", "Offen: {{ invoice.open }}",
                                      days=2 if trigger.takes_days else None))
    studio.default_profile_id = profile.id
    db.session.commit()
    with time_machine.travel(ISSUED, tick=False):
        invoice = issued_invoice(studio, client)
    due = (scheduling.invoice_reminders(invoice, studio, ISSUED)[0].due_at if trigger.is_date
           else invoice.issued_at)
    window = materialise.Pass(ISSUED - timedelta(minutes=1), due, ISSUED - timedelta(days=365), "late")
    assert materialise.make_due(window) == 1
    db.session.commit()
    made = db.session.scalar(sa.select(Message))
    assert still_wanted([made]) == [""]

    setattr(invoice, stop.attribute, ISSUED + timedelta(hours=1))
    db.session.commit()
    assert scheduling.invoice_reminders(invoice, studio, ISSUED) == []
    assert still_wanted([made]) == [str(stop.reason)]
    db.session.delete(made)
    db.session.commit()
    assert materialise.make_due(window) == 0


def test_the_pass_makes_exactly_the_reminders_the_invoice_page_shows(studio, client, otto):
    """Invoices due on different days (one with a job, one on the default profile, one paid, one
    another studio's), reminders to the client and the studio, over windows that share their
    edges: the rows a pass makes are the page's reminders, and the worker would send each."""
    job = jobs.save_job(studio, None, jobs.JobInput(name="Hochzeit Weiß", profile_id=None), None)
    reminders = [to("client", "days_before_invoice_due", "Bald fällig", "{{ invoice.open }}", days=3),
                 to("studio", "days_after_invoice_due_unpaid", "Überfällig", "{{ client.name }}", days=1),
                 to("client", "days_after_invoice_due_unpaid", "Mahnung", "{{ invoice.open }}", days=10)]
    use(job, make_profile(studio, *reminders))
    studio.default_profile_id = make_profile(studio, reminders[0]).id
    db.session.commit()
    with time_machine.travel(ISSUED, tick=False):
        mine = [issued_invoice(studio, client, job), issued_invoice(studio, client)]
        paid = issued_invoice(studio, client, job)
        invoices.record_payment(paid, invoices.PaymentInput("2.249,10", ISSUED.date(), "cash"), utcnow())
        other_client = contacts.save(otto.studio, None, contacts.ContactInput("Zoë Ørsted", emails=["zoe@example.dk"]))
        issued_invoice(otto.studio, other_client)  # no profile of Otto's
    edges = [ISSUED, datetime(2026, 12, 12, 7, 0, tzinfo=UTC), datetime(2026, 12, 16, 8, 0, tzinfo=UTC),
             datetime(2027, 1, 31, tzinfo=UTC)]
    total = 0
    for since, until in zip(edges, edges[1:]):
        expected = {(r.notification.id, invoice.id, r.due_at) for invoice in mine
                    for r in scheduling.invoice_reminders(invoice, studio, since) if r.due_at <= until}
        before = set(db.session.scalars(sa.select(Message.id)))
        made = materialise.make_due(materialise.Pass(since, until, since - timedelta(days=365), "late"))
        db.session.commit()
        rows = [m for m in db.session.scalars(sa.select(Message)) if m.id not in before]
        assert {(m.notification_id, MessageKey.parse(m.key).subject_id, m.due_at) for m in rows} == expected
        assert made == len(rows) and still_wanted(rows) == [""] * len(rows)
        total += made
    assert total == 4  # 3 for the job's invoice, 1 for the default profile's, none for the paid one


def test_invoice_mail_is_service_mail_an_unsubscribe_leaves_it_a_bounce_or_no_address_skips_it(app, studio):
    from shutterbell import suppression

    studio.default_profile_id = make_profile(studio, NOTIFICATIONS[0]).id
    people = {name: contacts.save(studio, None, contacts.ContactInput(name, emails=emails)) for name, emails in (
        ("Anaïs Lefèvre", ["anais@example.fr"]), ("Bożena Łukasik", ["bozena@example.pl"]), ("Jörg Groß", []))}
    suppression.suppress(studio.id, "email", "anais@example.fr", "unsubscribed", ISSUED)  # from the gallery news
    suppression.suppress(studio.id, "email", "bozena@example.pl", "bounced", ISSUED)
    db.session.commit()
    with time_machine.travel(ISSUED, tick=False):
        for person in people.values():
            issued_invoice(studio, person)
        assert outbox.schedule(utcnow() + timedelta(seconds=1), Crew(app, "").policy) == 3
    made = {m.contact_id: m for m in db.session.scalars(sa.select(Message))}
    assert (made[people["Anaïs Lefèvre"].id].status, made[people["Anaïs Lefèvre"].id].recipient) == (
        "scheduled", "anais@example.fr")
    assert (made[people["Bożena Łukasik"].id].status, made[people["Bożena Łukasik"].id].last_error) == (
        "skipped", "The address is on the suppression list (a bounce, an erasure, a STOP).")
    assert (made[people["Jörg Groß"].id].status, made[people["Jörg Groß"].id].last_error) == (
        "skipped", "The client has no email address.")


def test_erasing_a_client_skips_and_blanks_the_invoice_messages_to_them(app, studio, client):
    from shutterbell import composer

    studio.default_profile_id = make_profile(studio, NOTIFICATIONS[0], NOTIFICATIONS[4]).id
    db.session.commit()
    with time_machine.travel(ISSUED, tick=False):
        invoice = issued_invoice(studio, client)
        invoices.record_payment(invoice, invoices.PaymentInput("100", ISSUED.date(), "cash"), utcnow())
        assert outbox.schedule(utcnow() + timedelta(seconds=1), Crew(app, "").policy) == 2
    to_client, = db.session.scalars(sa.select(Message).where(Message.contact_id == client.id))
    alert, = db.session.scalars(sa.select(Message).where(Message.contact_id.is_(None)))
    # what the client (or an outside system) typed never becomes a link, also in the studio's alert about them
    assert "Jürgen Weiß" in composer.typed_by_others(alert) and "Weiß & Söhne" in composer.typed_by_others(to_client)
    assert contacts.clients(studio, also=client.id, limit=0) == [client]  # the chosen client stays a choice

    contacts.erase(client, utcnow())
    db.session.expire_all()
    assert (to_client.status, to_client.recipient, to_client.body) == (
        "skipped", f"erased-contact-{client.id}@invalid", "")
    assert to_client.last_error == "The person's data was erased."
    assert alert.status == "scheduled"  # the studio's own alert stays
