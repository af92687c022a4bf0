"""Settings → Templates: every studio starts with four, the owner edits them with the profile
editor's placeholders and preview, staff fill one in for a contact on the write page."""
import sqlalchemy as sa

from shutterbell import contacts, customers, jobs, mail_templates
from shutterbell.extensions import db
from shutterbell.models import MailTemplate, Message

from .conftest import text_of


def test_a_studio_starts_with_four_templates_and_the_owner_edits_them(olivia, as_olivia, as_sam):
    names = [t.name for t in mail_templates.of_studio(olivia.studio)]
    assert names == ["Booking confirmation", "Feedback request", "Payment reminder", "Session reminder"]
    assert as_sam.get("/settings/templates/").status_code == 403  # the owner's settings
    reminder = next(t for t in mail_templates.of_studio(olivia.studio) if t.name == "Session reminder")
    bad = as_olivia.post(f"/settings/templates/{reminder.id}", {
        "name": "Erinnerung", "subject": "Bis bald, {{ customer.vorname }}", "body": "Grüße"}, htmx=True)
    assert bad.status_code == 422 and "Unknown placeholder" in text_of(bad) and "Erinnerung" in text_of(bad)
    clash = as_olivia.post(f"/settings/templates/{reminder.id}", {
        "name": "Payment reminder", "subject": "Hallo", "body": "Grüße"})
    assert "Another template has this name." in text_of(clash)
    preview = as_olivia.post("/settings/templates/preview", {
        "name": "", "subject": "Bis bald, {{ customer.first_name }}", "body": "Abzüge ab 12,50 € 📸"}, htmx=True)
    assert preview.status_code == 200 and "Bis bald, Anna" in text_of(preview) and "12,50 € 📸" in text_of(preview)
    saved = as_olivia.post(f"/settings/templates/{reminder.id}", {
        "name": "Erinnerung an den Termin", "subject": "Bis bald, {{ customer.first_name }}!",
        "body": "Hallo {{ customer.first_name }},\nwir sehen uns am {{ job.shoot_date }} für {{ job.name }}.\nGrüße"})
    assert saved.status_code == 302
    db.session.refresh(reminder)
    assert reminder.name == "Erinnerung an den Termin"
    feedback = next(t for t in mail_templates.of_studio(olivia.studio) if t.name == "Feedback request")
    assert "Delete “Feedback request”?" in text_of(as_olivia.get(f"/settings/templates/{feedback.id}/delete"))
    assert as_olivia.post(f"/settings/templates/{feedback.id}/delete").status_code == 302
    assert ">Feedback request</a>" not in text_of(as_olivia.get("/settings/templates/"))


def test_staff_fill_a_template_in_for_a_contact_and_change_it_before_sending(olivia, as_sam):
    from datetime import date, datetime, timezone

    job = jobs.save_job(olivia.studio, None, jobs.JobInput(name="Hochzeit Weiß", profile_id=None,
                                                           shoot_date=date(2026, 6, 13)), None)
    customer, _ = customers.register(job, customers.CustomerInput("Jürgen", "Weiß", "juergen@example.com",
                                                                  email_consent=True), "staff", {"email": "ok"},
                                     datetime.now(timezone.utc))
    booking = db.session.scalar(sa.select(MailTemplate).where(MailTemplate.name == "Booking confirmation"))
    page = text_of(as_sam.get(f"/contacts/{customer.contact_id}/write?template={booking.id}"))
    assert "Your photo session with Studio Lichtblick is booked" in page
    assert "Hello Jürgen," in page and "booking Hochzeit Weiß with us" in page and "13. Juni 2026" in page  # the studio's locale
    lone = contacts.save(olivia.studio, None, contacts.ContactInput("Zoë Wójcik", emails=["zoe@example.pl"]))
    page = text_of(as_sam.get(f"/contacts/{lone.id}/write?template={booking.id}"))
    assert "Hello Zoë," in page and "booking  with us" in page  # on no job: her name, empty job values
    other_studio_id = booking.id + 10_000
    assert "Hello" not in text_of(as_sam.get(f"/contacts/{lone.id}/write?template={other_studio_id}"))
    sent = as_sam.post(f"/contacts/{customer.contact_id}/write", {
        "to": "juergen@example.com", "subject": "Euer Termin am 13. Juni", "body": "Hallo Jürgen, bis bald! 📸"})
    assert sent.status_code == 302
    message = db.session.scalar(sa.select(Message))
    assert (message.subject, message.body) == ("Euer Termin am 13. Juni", "Hallo Jürgen, bis bald! 📸")
