"""Service mail and marketing mail kept apart: offers need the customer's consent to offers, an
unsubscribe from offers never stops the messages they signed up for, and a service email's own
link stops everything (the consent given at sign-up is withdrawn)."""
import email
import re
from datetime import date, datetime, timezone
from email import policy
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
import time_machine

from shutterbell import customers, jobs, profiles, scheduling, triggers
from shutterbell.extensions import db
from shutterbell.models import Consent, Customer, Message, Notification, Suppression
from shutterbell.triggers import Category
from shutterbell.validation import Invalid

from .conftest import text_of
from .test_customers import person
from .test_delivery_faults import Crew
from .test_outbox import account, mailbox  # noqa: F401 (fixtures: a studio that sends through a real server)
from .test_scheduling import make_profile, use

UTC = timezone.utc
PUBLISHED = datetime(2026, 3, 10, 16, 0, tzinfo=UTC)


def to_all(trigger, subject, days=None, audience="all", **extra):
    return profiles.NotificationInput(trigger=trigger, days=days, audience=audience, channel="email", subject=subject,
                                      body="Hallo {{ customer.first_name }}, " + subject + "\n\n{{ unsubscribe_url }}",
                                      **extra)


def received(mailbox) -> list:
    return [email.message_from_bytes(raw, policy=policy.default) for raw in mailbox.received]


def staff_adds(job, first, address, offers, at=None):
    customer, _ = customers.register(job, customers.CustomerInput(first, "Wójcik", address, email_consent=True,
                                                                  marketing_consent=offers),
                                     "staff", {"email": "ok", "marketing": "offers ok"}, at or datetime.now(UTC))
    return customer


def test_the_catalogue_says_which_triggers_are_offers_and_only_customers_get_offers():
    marketing = {key for key, t in triggers.CATALOGUE.items() if t.category is Category.MARKETING}
    assert marketing == {"days_after_published", "days_before_archived", "days_before_order_deadline",
                         "days_after_order", "days_before_voucher_expires", "days_after_shoot"}
    for trigger in triggers.CATALOGUE.values():
        assert trigger.categories == ((Category.SERVICE, Category.MARKETING) if trigger.reaches_customers
                                      else (Category.SERVICE,)), trigger.key


def test_a_notification_takes_its_triggers_kind_unless_the_owner_says_otherwise(olivia):
    profile = make_profile(olivia.studio, to_all("job_published", "Ihre Fotos sind online 📸"),
                           to_all("days_before_archived", "Letzte Woche – 10 € Rabatt", days=7),
                           to_all("days_before_order_deadline", "Bestellschluss naht", days=1, category="service"))
    assert [n.category for n in profile.notifications] == ["service", "marketing", "service"]
    with pytest.raises(Invalid) as refused:
        make_profile(olivia.studio, profiles.NotificationInput(
            trigger="invoice_issued", audience="client", channel="email", subject="Rechnung", body="Anbei.",
            category="marketing"))
    assert "Only a job's customers get marketing" in refused.value.problems[("notifications", 0, "category")]


def test_the_editor_offers_the_kind_for_customer_triggers_and_follows_a_changed_trigger(as_olivia):
    row = "notifications-0"
    fields = {"index": "0", f"{row}-trigger": "days_before_archived", f"{row}-audience": "all",
              f"{row}-channel": "email", f"{row}-category": "service"}
    changed = as_olivia.post("/settings/profiles/row", fields, headers={"HX-Request": "true", "HX-Trigger": f"{row}-trigger"})
    assert '<option selected value="marketing">' in changed.get_data(as_text=True)
    # Another redraw (the channel changed) keeps what the owner chose.
    kept = as_olivia.post("/settings/profiles/row", fields, headers={"HX-Request": "true", "HX-Trigger": f"{row}-channel-0"})
    assert '<option selected value="service">' in kept.get_data(as_text=True)
    invoice = as_olivia.post("/settings/profiles/row", {**fields, f"{row}-trigger": "invoice_issued",
                                               f"{row}-audience": "client"}, headers={"HX-Request": "true"})
    page = invoice.get_data(as_text=True)
    assert 'name="notifications-0-category" value="service"' in page and "Kind of message" not in page


def test_the_sign_up_page_asks_for_offers_apart_and_records_each_consent(browser, olivia):
    standard = profiles.list_profiles(olivia.studio)[1]
    job = jobs.save_job(olivia.studio, None, jobs.JobInput(name="Kita Regenbogen", profile_id=standard.id), None)
    page = text_of(browser.get(f"/j/{job.access_code}"))
    assert "Also send me offers from Studio Lichtblick" in page
    assert re.search(r"7 days before the photos leave the gallery <span class=\"badge\">Offer: only if you agree", page)
    assert re.search(r"As soon as the photos are online</li>", page)

    refused = browser.post(f"/j/{job.access_code}", {**person(email_consent="", sms_consent=""),
                                                     "marketing_consent": "y"})
    assert refused.status_code == 422 and "Offers come by email or text message" in text_of(refused)

    browser.post(f"/j/{job.access_code}", person(first_name="Zoë", email="zoe@example.com", marketing_consent="y"))
    browser.post(f"/j/{job.access_code}", person(first_name="Łukasz", email="lukasz@example.com"))
    db.session.expire_all()
    zoe, lukasz = (db.session.scalar(sa.select(Customer).where(Customer.email == a))
                   for a in ("zoe@example.com", "lukasz@example.com"))
    assert {(c.channel, c.purpose) for c in zoe.consents} == {
        ("email", "service"), ("sms", "service"), ("email", "marketing"), ("sms", "marketing")}
    assert {(c.channel, c.purpose) for c in lukasz.consents} == {("email", "service"), ("sms", "service")}
    offers = next(c for c in zoe.consents if c.purpose == "marketing")
    assert offers.wording.startswith("Also send me offers from Studio Lichtblick")


def test_offers_go_only_with_consent_and_each_kind_of_link_stops_what_it_says_through_the_real_worker(
        app, olivia, account, mailbox, certificate, browser):
    with time_machine.travel(datetime(2026, 3, 1, 12, 0, tzinfo=UTC), tick=False):
        job = jobs.save_job(olivia.studio, None, jobs.JobInput(
            name="Grundschule Süd", profile_id=None, published_at=PUBLISHED, archives_at=date(2026, 3, 20),
            gallery_url="https://fotos.lichtblick.example/sued",
            order_deadline=date(2026, 3, 18)), None)
        use(job, make_profile(olivia.studio, to_all("job_published", "Ihre Fotos sind online 📸"),
                              to_all("days_after_published", "Schon gesehen? 10 € Rabatt für Sie", days=2),
                              to_all("days_before_archived", "Letzte Chance – Galerie schließt", days=4),
                              to_all("days_before_order_deadline", "Bestellschluss übermorgen", days=2,
                                     category="service")))
        zoe = staff_adds(job, "Zoë", "zoe@example.com", offers=True)
        staff_adds(job, "Łukasz", "lukasz@example.com", offers=False)

    with time_machine.travel(datetime(2026, 3, 10, 16, 1, tzinfo=UTC), tick=True):
        Crew(app, str(certificate[0])).finish(2, mailbox, timeout=60)
    online = received(mailbox)
    assert sorted(m["To"] for m in online) == ["lukasz@example.com", "zoe@example.com"]
    service_link = online[0]["List-Unsubscribe"].strip("<>")
    assert urlsplit(service_link).path.startswith("/u/") and not service_link.endswith("/offers")

    # Two days later the offer goes to Zoë alone, with a link that stops offers only.
    with time_machine.travel(datetime(2026, 3, 12, 8, 1, tzinfo=UTC), tick=True):
        Crew(app, str(certificate[0])).finish(3, mailbox, timeout=60)
    offer, = received(mailbox)[2:]
    assert (offer["To"], offer["Subject"]) == ("zoe@example.com", "Schon gesehen? 10 € Rabatt für Sie")
    offers_link = offer["List-Unsubscribe"].strip("<>")
    assert offers_link == f"https://photos.lichtblick.example/u/{zoe.unsubscribe_token}/offers"
    assert offers_link in offer.get_body(("plain",)).get_content()
    assert offer["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # RFC 8058 one-click from Zoë's mail program: offers stop, the rest goes on.
    done = browser._request("post", urlsplit(offers_link).path, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "No more offers" in text_of(done)
    assert "Stop those emails too" in text_of(done)
    db.session.expire_all()
    entry = db.session.scalar(sa.select(Suppression))
    assert (entry.address, entry.reason, entry.marketing_only) == ("zoe@example.com", "unsubscribed", True)
    assert db.session.get(Customer, zoe.id).has_consent("email")
    assert not db.session.get(Customer, zoe.id).has_consent("email", "marketing")

    # Two days before the deadline, four before archiving: the reminder the owner made service
    # reaches both, the offer nobody.
    with time_machine.travel(datetime(2026, 3, 16, 8, 1, tzinfo=UTC), tick=True):
        Crew(app, str(certificate[0])).finish(5, mailbox, timeout=60)
    later = received(mailbox)[3:]
    assert sorted((m["To"], m["Subject"]) for m in later) == [
        ("lukasz@example.com", "Bestellschluss übermorgen"), ("zoe@example.com", "Bestellschluss übermorgen")]
    assert not db.session.scalar(sa.select(Message).where(Message.subject.like("Letzte Chance%")))
    assert {m.category for m in db.session.scalars(sa.select(Message))} == {"service", "marketing"}

    # The link of a service email stops every email: the entry now stops everything.
    zoe_service = next(m for m in later if m["To"] == "zoe@example.com")["List-Unsubscribe"].strip("<>")
    stopped = browser._request("post", urlsplit(zoe_service).path, data={"List-Unsubscribe": "One-Click"})
    assert "You are unsubscribed" in text_of(stopped)
    db.session.expire_all()
    entry = db.session.scalar(sa.select(Suppression))
    assert (entry.reason, entry.marketing_only) == ("unsubscribed", False)
    assert not db.session.get(Customer, zoe.id).has_consent("email")
    remaining = {m.customer.first_name for m in scheduling.moments(job, job.profile, PUBLISHED)}
    assert remaining == {"Łukasz"}


def test_the_suppression_list_and_the_customer_page_say_what_each_applies_to(as_olivia, olivia):
    from shutterbell import suppression

    job = jobs.save_job(olivia.studio, None, jobs.JobInput(name="Hort", profile_id=None), None)
    zoe = staff_adds(job, "Zoë", "zoe@example.com", offers=True)
    ines = staff_adds(job, "Inès", "ines@example.com", offers=True)
    now = datetime.now(UTC)
    suppression.unsubscribe(zoe, now, offers_only=True)
    suppression.unsubscribe(ines, now)
    page = text_of(as_olivia.get("/settings/suppression-list/"))
    assert page.count("Offers (marketing mail)") == 1
    assert "Every message to customers; invoices and bookings still go" in page
    customer_page = text_of(as_olivia.get(f"/jobs/{job.id}/customers/{zoe.id}"))
    assert "offers (marketing)" in customer_page and "offers ok" in customer_page


def test_a_one_off_message_must_say_its_kind_and_an_offer_reaches_only_those_who_agreed(as_olivia, olivia):
    job = jobs.save_job(olivia.studio, None, jobs.JobInput(name="Abschlussball", profile_id=None), None)
    staff_adds(job, "Zoë", "zoe@example.com", offers=True)
    staff_adds(job, "Łukasz", "lukasz@example.com", offers=False)
    fields = {"audience": "all", "subject": "Sommeraktion: 20 % auf Abzüge", "body": "Hallo {{ customer.first_name }}!",
              "when": "now"}
    unsaid = as_olivia.post(f"/outbox/jobs/{job.id}/new", fields, headers={"HX-Request": "true"})
    assert unsaid.status_code == 422 and "Say whether this is service or marketing" in text_of(unsaid)
    assert as_olivia.post(f"/outbox/jobs/{job.id}/new", {**fields, "category": "marketing"}).status_code == 302
    db.session.expire_all()
    made, = db.session.scalars(sa.select(Message))
    assert (made.recipient, made.category) == ("zoe@example.com", "marketing")
    assert made.body.startswith("Hallo Zoë!")


def test_the_migration_keeps_what_everyone_had_agreed_to(tmp_path):
    """14c88c272697: email consents given before to wording that named offers count for offers
    too (text-message and imported ones did not name any), and the sales pushes become marketing."""
    from flask_migrate import downgrade, upgrade

    from app import create_app
    from shutterbell import accounts

    from .conftest import PASSWORD

    fresh = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'fresh.db'}"})
    with fresh.app_context():
        upgrade()
        studio = accounts.create_studio(accounts.NewStudio("Studio Lichtblick", "Europe/Berlin", "de_DE",
                                                           "olivia@lichtblick.example", PASSWORD)).studio
        job = jobs.save_job(studio, None, jobs.JobInput(name="Kita", profile_id=None), None)
        juergen = staff_adds(job, "Jürgen", "juergen@example.com", offers=False)
        ids = (studio.id, juergen.id)
        downgrade(revision="2c709f7aef90")
        consent = sa.table("consent", *(sa.column(c) for c in ("studio_id", "customer_id", "channel", "path",
                                                               "wording", "given_at")))
        db.session.execute(sa.delete(consent))
        old = [("email", "signup", "Email me about the photos of Kita from Studio Lichtblick: when they are online, "
                                   "reminders and offers. I can unsubscribe at any time."),
               ("sms", "signup", "Text me about the photos of Kita from Studio Lichtblick. I can reply STOP at any time."),
               ("email", "import", "Consent recorded by the studio before importing kita.csv")]
        db.session.execute(consent.insert(), [{"studio_id": ids[0], "customer_id": ids[1], "channel": channel,
                                               "path": path, "wording": wording, "given_at": datetime.now(UTC)}
                                              for channel, path, wording in old])
        db.session.commit()
        upgrade()
        assert sorted(db.session.execute(sa.select(Consent.channel, Consent.path, Consent.purpose)).tuples()) == [
            ("email", "import", "service"), ("email", "signup", "marketing"), ("email", "signup", "service"),
            ("sms", "signup", "service")]
        kinds = {(n.trigger, n.category) for n in db.session.scalars(sa.select(Notification))}
        assert ("days_before_archived", "marketing") in kinds and ("job_published", "service") in kinds
        assert ("days_before_voucher_expires", "service") not in kinds
        db.session.remove()
        db.engine.dispose()


def test_an_unsubscribe_from_offers_holds_on_every_job_even_when_the_entry_is_lifted(olivia):
    """Zoë is on two jobs with offers; she stops offers from one email, later stops everything
    and subscribes again to the job's emails: the entry is gone, and offers stay off on both."""
    from shutterbell import suppression

    first, second = (jobs.save_job(olivia.studio, None, jobs.JobInput(name=n, profile_id=None), None)
                     for n in ("Kita Süd", "Hort Nord"))
    zoe, zoe_too = (staff_adds(job, "Zoë", "zoe@example.com", offers=True) for job in (first, second))
    now = datetime.now(UTC)
    suppression.unsubscribe(zoe, now, offers_only=True)
    suppression.unsubscribe(zoe, now)
    assert suppression.resubscribe(zoe, "Subscribed again", now)
    db.session.expire_all()
    assert db.session.scalar(sa.select(Suppression)) is None
    for customer_id in (zoe.id, zoe_too.id):
        assert not db.session.get(Customer, customer_id).has_consent("email", "marketing")
    assert db.session.get(Customer, zoe_too.id).has_consent("email")  # the job's own emails go on


def test_a_notification_switched_to_marketing_checks_offers_consent_for_messages_made_before(olivia, account):
    """Made as service, sent after the owner made it marketing: the worker judges it as marketing
    (consent to offers, the offers-only link) rather than skipping or sending it as service."""
    from shutterbell import outbox
    from shutterbell.outbox.studio_batch import StudioBatch

    job = jobs.save_job(olivia.studio, None, jobs.JobInput(name="Kita", profile_id=None), None)
    profile = make_profile(olivia.studio, to_all("customer_registered", "Willkommen", audience="potential_buyers"))
    use(job, profile)
    zoe = staff_adds(job, "Zoë", "zoe@example.com", offers=True)
    lukasz = staff_adds(job, "Łukasz", "lukasz@example.com", offers=False)
    outbox.schedule(datetime.now(UTC), outbox.Policy(base_url="https://photos.example"))
    made = {m.customer_id: m for m in db.session.scalars(sa.select(Message))}
    assert {m.category for m in made.values()} == {"service"}
    profile.notifications[0].category = "marketing"
    db.session.commit()
    batch = StudioBatch(olivia.studio, outbox.Policy(base_url="https://photos.example"))
    batch.read_customers(list(made.values()))
    assert batch.why_not(made[zoe.id]) == "" and made[zoe.id].category == "marketing"
    assert "not agreed to offers" in batch.why_not(made[lukasz.id])
