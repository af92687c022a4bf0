"""Alerts for the owner: a confirmed sign-up, an order, a message that failed for good, sending
paused and the inbox sync stopped reach the app's list (an unread count in the navigation) and
one email a minute to the owner, each as the studio switched it. On SQLite and PostgreSQL."""
import email
from datetime import timedelta
from email import policy

import sqlalchemy as sa

from shutterbell import accounts, alerts, customers, diagnostics, mailsettings, orders
from shutterbell.extensions import db
from shutterbell.models import Alert, utcnow
from shutterbell.outbox.outcomes import finish

from .conftest import text_of
from .test_contacts import job_named, sign_up


def unconfirmed(job, first, last, address):
    customer, _ = customers.register(job, customers.CustomerInput(first, last, address, email_consent=True),
                                     "signup", {"email": "ok"}, utcnow())
    return customer


def test_a_confirmed_sign_up_and_an_order_show_in_the_list_with_an_unread_count(olivia, as_olivia, as_sam):
    job = job_named(olivia.studio, "Kita Sonnenschein")
    anna = unconfirmed(job, "Zoë", "Wąsowska", "zoe@example.pl")
    assert as_olivia.post(f"/c/{anna.confirm_token}").status_code == 200  # the double opt-in button
    orders.record(job, anna, 4890, utcnow(), paid=False)
    page = text_of(as_olivia.get("/"))
    assert 'aria-label="2 unread">2</span>' in page
    listing = text_of(as_olivia.get("/alerts/"))
    assert "Zoë Wąsowska signed up to Kita Sonnenschein." in listing
    assert "Zoë Wąsowska ordered for 48,90\xa0€ (Kita Sonnenschein)." in listing and listing.count(">New<") == 2
    assert "unread" not in text_of(as_olivia.get("/"))  # opening the list read them
    assert as_sam.get("/alerts/").status_code == 403  # the owner's


def test_each_kind_can_be_switched_off_in_the_app_and_by_email(olivia, as_olivia):
    job = job_named(olivia.studio, "Kita Sonnenschein")
    on = {f"{kind}.{way}" for kind in alerts.KINDS for way in alerts.WAYS} - {"sign_up.app", "order.app", "order.email"}
    assert as_olivia.post("/alerts/settings", {"on": sorted(on)}).status_code == 302
    anna = unconfirmed(job, "Anna", "Groß", "anna@example.de")
    customers.confirm(anna, utcnow())
    orders.record(job, anna, 1200, utcnow(), paid=True)
    kept = db.session.scalars(sa.select(Alert)).all()
    assert [(a.kind, a.in_app, a.mail_due) for a in kept] == [("sign_up", False, True)]  # email only; no order
    page = text_of(as_olivia.get("/alerts/"))
    assert "signed up" not in page
    assert 'value="sign_up.app" checked' not in page and 'value="sign_up.email" checked' in page
    assert 'value="order.email" checked' not in page and 'value="failed.email" checked' in page


def test_the_owner_gets_one_email_a_minute_and_an_account_problem_never_through_that_account(
        olivia, instance_mail, app):
    job = job_named(olivia.studio, "Kita Sonnenschein")
    for first, address in (("Łukasz", "lukasz@example.pl"), ("Éloïse", "eloise@example.fr")):
        customers.confirm(unconfirmed(job, first, "Nowak", address), utcnow())
    account = mailsettings.account_of(olivia.studio)
    refused = diagnostics.Diagnosis(diagnostics.CAUSES["wrong_password"], "535 5.7.8 Authentication failed")
    for attempt in range(3):  # while it lasts: one alert, not one per attempt
        mailsettings.record_failure(account, "smtp", refused, utcnow() + timedelta(minutes=attempt))
    db.session.commit()
    assert alerts.mail_digests("https://photos.lichtblick.example", accounts.send_about_the_app) == 1
    assert alerts.mail_digests("https://photos.lichtblick.example", accounts.send_about_the_app) == 0  # mailed once
    mail, = [email.message_from_bytes(raw, policy=policy.default) for raw in instance_mail.received]
    assert mail["To"] == "olivia@lichtblick.example" and mail["Subject"] == "Studio Lichtblick: 3 new alerts"
    text = mail.get_body(("plain",)).get_content()
    assert "Łukasz Nowak signed up to Kita Sonnenschein." in text and "Éloïse Nowak signed up" in text
    assert "is paused (535 5.7.8 Authentication failed)" in text
    assert "https://photos.lichtblick.example/settings/email/" in text

    digest = alerts.Digest(olivia.studio, "olivia@lichtblick.example", db.session.scalars(sa.select(Alert)).all())
    assert digest.about_the_account  # so it never goes through the studio's own (refused) account


def test_a_message_that_failed_for_good_raises_an_alert_with_it(olivia):
    from shutterbell.models import Message

    job = job_named(olivia.studio, "Kita Sonnenschein")
    anna = sign_up(job, "Anna", "Groß", "anna@example.de")
    message = Message(studio_id=olivia.studio_id, job_id=job.id, customer_id=anna.id, key="oneoff:t:1",
                      channel="email", recipient="anna@example.de", subject="Hallo", body="Hallo",
                      due_at=utcnow(), status="sending")
    db.session.add(message)
    db.session.commit()
    finish(message, "failed", utcnow(), error="550 5.1.1 User unknown", cause="mailbox_unavailable")
    db.session.rollback()  # committed with the outcome, not left pending
    alert, = db.session.scalars(sa.select(Alert))
    assert (alert.kind, alert.link) == ("failed", f"/outbox/{message.id}")
    assert alert.text == "A message to anna@example.de failed for good: 550 5.1.1 User unknown"


def test_failures_in_a_row_are_one_alert_and_erasing_the_person_erases_their_alerts(olivia):
    from shutterbell import contacts
    from shutterbell.models import Message

    job = job_named(olivia.studio, "Kita Sonnenschein")
    people = [sign_up(job, first, "Groß", f"{first.lower()}@example.de") for first in ("Anna", "Ben", "Cleo")]
    for n, person in enumerate(people):
        message = Message(studio_id=olivia.studio_id, job_id=job.id, customer_id=person.id, key=f"oneoff:t:{n}",
                          channel="email", recipient=person.email, subject="Hallo", body="Hallo", due_at=utcnow(),
                          status="sending")
        db.session.add(message)
        db.session.commit()
        finish(message, "failed", utcnow(), error="554 5.7.1 Message rejected as spam")
    alert, = db.session.scalars(sa.select(Alert))
    assert (alert.count, alert.text) == (3, "A message to cleo@example.de failed for good: 554 5.7.1 Message "
                                            "rejected as spam")
    digest = alerts.Digest(olivia.studio, "olivia@lichtblick.example", [alert])
    assert "(3 times)" in digest.body("https://photos.lichtblick.example")
    contacts.erase(db.session.get(contacts.Contact, people[2].contact_id), utcnow())
    assert db.session.scalars(sa.select(Alert)).all() == []  # Cleo's name and address are gone from the alerts too


def test_an_alert_email_that_cannot_go_shows_in_the_app_and_one_studio_s_failure_stops_no_other(olivia, otto, app):
    on = {f"{kind}.email" for kind in alerts.KINDS}  # email only, nothing in the app
    alerts.switch(olivia.studio, on)
    alerts.switch(otto.studio, on)
    olivia.studio.name = "Studio Lichtblick\nBcc: everyone@example.com"  # (from old data or a script)
    db.session.commit()
    for studio in (olivia.studio, otto.studio):
        alerts.raise_alert(studio.id, "order", "Anna ordered.", "/jobs/1#orders")
    db.session.commit()
    assert alerts.unread(olivia.studio_id) == 0
    # no instance mail, no studio account: neither goes
    alerts.mail_digests("https://photos.lichtblick.example", accounts.send_about_the_app)
    assert alerts.unread(olivia.studio_id) == alerts.unread(otto.studio_id) == 1  # shown in the app instead
    subject = alerts.Digest(olivia.studio, "o@x", []).subject()
    assert "\n" not in subject and subject.startswith("Studio Lichtblick Bcc:")
