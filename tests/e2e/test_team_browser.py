"""A job's people in Chromium at a desk and on a tablet: a job booked by a client, a vendor put on
its team (a mistake first), the owner's coming jobs on the dashboard, the profile editor offering
an invoice trigger's recipients, and an invoice's page listing its coming reminders."""
import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from shutterbell import accounts, contacts, invoices, profiles
from shutterbell.extensions import db
from shutterbell.models import Job, utcnow
from shutterbell.profiles import NotificationInput, ProfileInput

from ..conftest import PASSWORD
from .conftest import DESKTOP, TABLET, screenshot
from .test_pages_tour import check_layout
from .test_profiles_browser import audience_options, redrawn

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("viewport, size", [(DESKTOP, "desktop"), (TABLET, "tablet")])
def test_a_booked_job_its_team_and_an_invoices_reminders(page_for, live_server, owner, viewport, size):
    app, base_url = live_server
    with app.app_context():
        studio = accounts.authenticate(owner, PASSWORD).studio
        contacts.save(studio, None, contacts.ContactInput("Zoë & Łukasz Wąsowski", emails=["zoe@example.pl"]))
        contacts.save(studio, None, contacts.ContactInput("Café Würzburg", emails=["events@cafe.example"],
                                                          kind="vendor", company="Würzburger Gastro GmbH"))
        profile = profiles.save_profile(studio, None, ProfileInput("Hochzeiten", "", [
            NotificationInput(trigger="booking_confirmed", days=None, audience="client", channel="email",
                              subject="Buchungsbestätigung", body="Liebe {{ client.name }}, bis {{ job.shoot_date }}!"),
            NotificationInput(trigger="days_before_shoot_team", days=2, audience="vendors", channel="email",
                              subject="Erinnerung", body="Bis übermorgen, {{ member.name }}"),
            NotificationInput(trigger="days_before_invoice_due", days=3, audience="client", channel="email",
                              subject="Rechnung {{ invoice.number }}", body="Offen: {{ invoice.open }}")]))
        profile_id = profile.id
    page = page_for(viewport)
    page.goto(f"{base_url}/jobs/new")
    page.get_by_label("Job name").fill("Hochzeit Zoë & Łukasz")
    page.get_by_label("Communication profile").select_option(label="Hochzeiten")
    page.get_by_label("Client").select_option(label="Zoë & Łukasz Wąsowski")
    page.get_by_label("Shoot date").fill("2027-06-19")
    page.get_by_role("button", name="Save job").click()
    page.get_by_role("link", name="Hochzeit Zoë & Łukasz").click()

    team = page.locator("#team")
    team.get_by_role("link", name="Add to the team").click()  # the form opens in place, the keyboard in it
    expect(team.get_by_label("Who")).to_be_focused()
    team.get_by_label("Who").select_option(label="Café Würzburg (Würzburger Gastro GmbH)")
    team.get_by_role("button", name="Add to the team").click()  # no role yet
    expect(page.locator("#team").get_by_text("Which role do they have on this job")).to_be_visible()
    page.locator("#team").get_by_label("Role").fill("Location")
    page.locator("#team").get_by_role("button", name="Add to the team").click()
    expect(page.locator("#team tbody")).to_contain_text("Location")
    page.locator("#team").get_by_role("link", name="Add to the team").click()
    page.locator("#team").get_by_label("Who").select_option(index=1)  # the owner
    page.locator("#team").get_by_label("Role").fill("Fotografin")
    page.locator("#team").get_by_role("button", name="Add to the team").click()
    expect(page.locator("#team tbody tr")).to_have_count(2)
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("2 days before the shoot → Vendors on the job")
    check_layout(page)
    screenshot(page, f"job-team-{size}")

    page.goto(base_url + "/")
    expect(page.locator(".my-jobs")).to_contain_text("Hochzeit Zoë & Łukasz")
    check_layout(page)
    screenshot(page, f"dashboard-my-jobs-{size}")

    page.goto(f"{base_url}/settings/profiles/{profile_id}")
    row = page.locator(".notification-row").nth(2)
    redrawn(page, lambda: row.locator(".row-summary").click())  # a closed row's fields are drawn as it opens
    redrawn(page, lambda: row.get_by_label("Trigger").select_option(label="Days after an invoice was due and is still unpaid"))
    row = page.locator(".notification-row").nth(2)
    assert audience_options(row) == ["The client", "The studio (an internal alert)"]
    expect(row).to_contain_text("{{ invoice.open }}")  # the trigger's placeholders
    check_layout(page)
    screenshot(page, f"profile-invoice-trigger-{size}")

    with app.app_context():
        studio = accounts.authenticate(owner, PASSWORD).studio
        job = db.session.scalar(sa.select(Job).where(Job.studio_id == studio.id))
        invoice = invoices.save(studio, None, invoices.InvoiceInput(
            job.client_id, job_id=job.id, currency="EUR",
            lines=[invoices.LineInput("Hochzeitsreportage", "1", "1.890,00", "19")]))
        invoices.issue(invoice, invoices.day_of(studio, utcnow()))
        invoice_id = invoice.id
    page.goto(f"{base_url}/invoices/{invoice_id}")
    expect(page.locator(".invoice-reminders")).to_contain_text("3 days before an invoice is due")
    check_layout(page)
    screenshot(page, f"invoice-messages-{size}")
    assert page.js_errors == []
