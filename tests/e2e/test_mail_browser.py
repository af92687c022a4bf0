"""Settings → Email and the outbox in Chromium: a preset fills the server, Test connection runs
against a real SMTP server (aiosmtpd with STARTTLS and AUTH) and shows each step or the hint, and
the outbox shows what was sent, down to the headers."""
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from shutterbell import accounts, customers, deliverability, jobs, outbox, profiles, settings
from shutterbell.models import utcnow
from shutterbell.profiles import NotificationInput, ProfileInput

from ..conftest import PASSWORD as OWNER_PASSWORD
from ..conftest import configure_app, mailbox_of
from ..dnsserver import dns_server
from ..mailservers import PASSWORD, SENDER, USERNAME
from .conftest import DESKTOP, SCREENSHOTS, TABLET, screenshot
from .test_pages_tour import check_layout

pytestmark = pytest.mark.e2e


@pytest.fixture
def smtp(server, certificate):
    return (*server, str(certificate[0]))


def sending_through(smtp, app, monkeypatch, owner, sender_name="Studio Lichtblick"):
    """The owner's studio, its account sending through the test server (in an app context)."""
    from shutterbell import mailsettings

    _, port, ca_file = smtp
    configure_app(app, monkeypatch, mail_ca_file=ca_file)
    studio = accounts.authenticate(owner, OWNER_PASSWORD).studio
    mailsettings.save_smtp(mailsettings.account_of(studio), mailsettings.SmtpInput(
        "127.0.0.1", port, "starttls", USERNAME, PASSWORD, SENDER, sender_name, ""), True, utcnow())
    return studio


@pytest.mark.parametrize("viewport, size", [(DESKTOP, "desktop"), (TABLET, "tablet")])
def test_the_owner_tests_and_saves_the_smtp_and_imap_accounts(page_for, live_server, smtp, imap_ports, monkeypatch,
                                                             viewport, size):
    app, base_url = live_server
    mailbox, port, ca_file = smtp
    configure_app(app, monkeypatch, mail_ca_file=ca_file)
    page = page_for(viewport)
    page.goto(f"{base_url}/settings/email/")
    sending = page.get_by_role("region", name="Sending (SMTP)")
    sending.get_by_label("Provider").select_option("Gmail")
    expect(sending.get_by_label("SMTP server")).to_have_value("smtp.gmail.com")
    expect(sending.get_by_text("app password", exact=False).first).to_be_visible()
    check_layout(page)
    screenshot(page, f"email-settings-preset-{size}")
    inbox_box = page.get_by_role("region", name="Inbox sync (IMAP)").bounding_box()
    sending_box = sending.bounding_box()
    if size == "desktop":  # the page's whole width: sending and the inbox side by side
        assert inbox_box["x"] > sending_box["x"] + sending_box["width"] and inbox_box["y"] == sending_box["y"]
    else:
        assert inbox_box["y"] > sending_box["y"] + sending_box["height"]

    sending.get_by_label("SMTP server").fill("127.0.0.1")
    sending.get_by_label("Port").fill(str(port))
    sending.get_by_label("Security").select_option("starttls")
    sending.get_by_label("Username").fill(USERNAME)
    sending.get_by_label("Password").fill("not-the-password")
    sending.get_by_label("From address").fill("jürgen.weiß@lichtblick.example")
    sending.get_by_role("button", name="Test connection").click()
    expect(sending.get_by_text("only after the @", exact=False)).to_be_visible()  # beside its field
    expect(sending.get_by_label("Password")).to_have_value("not-the-password")  # a field error loses nothing typed
    sending.get_by_label("From address").fill(SENDER)
    sending.get_by_role("button", name="Test connection").click()
    expect(sending.get_by_text("The test failed")).to_be_visible()
    expect(sending.get_by_text("What to do:")).to_be_visible()
    check_layout(page)
    screenshot(page, f"email-settings-failed-{size}")

    sending.get_by_label("Password").fill(PASSWORD)
    sending.get_by_role("button", name="Test connection").click()
    expect(sending.get_by_text("Connection works: nothing was sent.")).to_be_visible()
    expect(sending.get_by_text("Sender address accepted (MAIL FROM)")).to_be_visible()
    screenshot(page, f"email-settings-passed-{size}")
    sending.get_by_role("button", name="Test and save").click()
    expect(page.get_by_text("Sending settings saved.")).to_be_visible()
    expect(sending.get_by_text("Saved. Leave empty to keep it.")).to_be_visible()

    inbox = page.get_by_role("region", name="Inbox sync (IMAP)")
    expect(inbox.get_by_label("Username")).to_have_value(USERNAME)  # taken from the sending account
    inbox.get_by_label("IMAP server").fill("127.0.0.1")
    inbox.get_by_label("Port").fill(str(imap_ports[1]))
    inbox.get_by_label("Folders to sync").fill("INBOX, Sent")
    inbox.get_by_label("Password").fill(PASSWORD)  # another server than a provider's pair: typed once
    inbox.get_by_role("button", name="Test connection").click()
    expect(inbox.get_by_text("Connection works: nothing was sent.")).to_be_visible()
    expect(inbox.get_by_text("4: INBOX, Gesendet, Papierkorb, Sent")).to_be_visible()
    check_layout(page)
    screenshot(page, f"email-settings-imap-passed-{size}")
    inbox.get_by_role("button", name="Test and save").click()
    expect(page.get_by_text("Inbox sync settings saved.")).to_be_visible()
    assert mailbox.received == []  # testing sends nothing
    assert page.js_errors == []


@pytest.mark.parametrize("viewport, size", [(DESKTOP, "desktop"), (TABLET, "tablet")])
def test_the_owner_checks_the_domain_s_dns_records(page_for, live_server, owner, monkeypatch, viewport, size):
    app, base_url = live_server
    with app.app_context():
        from shutterbell import mailsettings

        studio = accounts.authenticate(owner, OWNER_PASSWORD).studio
        mailsettings.save_smtp(mailsettings.account_of(studio), mailsettings.SmtpInput(
            "smtp.gmail.com", 587, "starttls", SENDER, PASSWORD, SENDER, "Studio Lichtblick", ""), False, utcnow())
    with dns_server() as (zone, resolver):
        zone.txt("lichtblick.example", "v=spf1 include:_spf.google.com ~all")
        zone.txt("_dmarc.lichtblick.example", "v=DMARC1; p=none")
        monkeypatch.setattr(deliverability, "new_resolver", lambda: resolver)
        page = page_for(viewport)
        page.goto(f"{base_url}/settings/email/")
        section = page.get_by_role("region", name="Deliverability (DNS)")
        expect(section.get_by_label("DKIM selector")).to_have_value("google")
        section.get_by_role("button", name="Check DNS records").click()
        expect(section.get_by_text("DNS records of lichtblick.example")).to_be_visible()
        expect(section.get_by_text("No DKIM key at google._domainkey.lichtblick.example", exact=False)).to_be_visible()
        section.scroll_into_view_if_needed()
        check_layout(page)
        screenshot(page, f"email-settings-dns-{size}")
        assert page.js_errors == []


@pytest.mark.parametrize("viewport, size", [(DESKTOP, "desktop"), (TABLET, "tablet")])
def test_the_outbox_shows_what_went_out(page_for, live_server, owner, smtp, monkeypatch, viewport, size):
    app, base_url = live_server
    with app.app_context():
        studio = sending_through(smtp, app, monkeypatch, owner)
        profile = profiles.save_profile(studio, None, ProfileInput("Welcome", "", [NotificationInput(
            trigger="customer_registered", days=None, audience="potential_buyers", channel="email",
            subject="Welcome, {{ customer.first_name }}",
            body="Hello {{ customer.first_name }},\n\nyour photos of {{ job.name }} will be at {{ job.gallery_url }}")]))
        job = jobs.save_job(studio, None, jobs.JobInput(name="Kita Regenbogen", profile_id=profile.id,
                                                       gallery_url="https://photos.example.com/k"), None)
        for name in ("Anna", "Ben"):
            customers.register(job, customers.CustomerInput(name, "Schmidt", f"{name.lower()}-{size}@example.com",
                                                            email_consent=True), "staff", {"email": "ok"}, utcnow())
        job_id = job.id
        policy = settings.current().outbox
        now = utcnow() + timedelta(seconds=1)
        outbox.schedule(now, policy)
        outbox.dispatch(now, policy, lambda ids, at_front: outbox.send_batch(ids, policy))
    page = page_for(viewport)
    page.goto(f"{base_url}/outbox/")
    expect(page.get_by_text("Welcome, Anna")).to_be_visible()
    check_layout(page)
    screenshot(page, f"outbox-{size}")
    page.get_by_text("Welcome, Anna").click()
    expect(page.get_by_text("What the customer gets")).to_be_visible()
    page.get_by_text("Email source, headers included").click()
    expect(page.get_by_text("List-Unsubscribe-Post: List-Unsubscribe=One-Click")).to_be_visible()
    check_layout(page)
    screenshot(page, f"outbox-message-{size}")
    page.goto(f"{base_url}/contacts/?q=anna-{size}")  # what went out shows on the person's page too
    page.get_by_role("link", name="Anna Schmidt").click()
    expect(page.get_by_role("link", name="Welcome, Anna")).to_be_visible()
    check_layout(page)
    screenshot(page, f"contact-correspondence-{size}")
    page.goto(f"{base_url}/jobs/{job_id}")
    page.get_by_role("link", name="Write to its customers now").click()
    page.get_by_text("Buyers", exact=True).click()
    page.get_by_label("Service (what they signed up for)").check()
    page.get_by_label("Subject").fill("Thank you, {{ customer.first_name }}")
    page.get_by_label("Message").fill("Hello {{ customer.first_name }}")
    check_layout(page)
    screenshot(page, f"one-off-{size}")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("The message goes to 0 customers.")).to_be_visible()  # nobody has bought yet

    # A filter is part of the address: Back and reload keep it.
    page.goto(f"{base_url}/outbox/")
    page.get_by_label("Status").select_option("failed")
    expect(page).to_have_url(re.compile(r"/outbox/\?status=failed"))
    expect(page.get_by_text("Welcome, Anna")).to_have_count(0)
    page.reload()
    expect(page.get_by_label("Status")).to_have_value("failed")
    expect(page.get_by_text("Welcome, Anna")).to_have_count(0)
    page.get_by_label("Status").select_option("sent")
    page.get_by_text("Welcome, Anna").click()
    expect(page.get_by_text("What the customer gets")).to_be_visible()
    page.go_back()
    expect(page).to_have_url(re.compile(r"/outbox/\?status=sent"))
    expect(page.get_by_label("Status")).to_have_value("sent")
    page.go_back()
    expect(page).to_have_url(re.compile(r"/outbox/\?status=failed"))
    expect(page.get_by_label("Status")).to_have_value("failed")
    expect(page.locator("header.topbar")).to_have_count(1)  # the whole page, never the table alone
    assert page.js_errors == []


@pytest.mark.parametrize("viewport, size", [(DESKTOP, "desktop"), (TABLET, "tablet")])
def test_the_job_page_says_when_sending_limits_let_the_last_email_go(page_for, live_server, owner, viewport, size):
    app, base_url = live_server
    with app.app_context():
        from datetime import date

        from shutterbell import mailsettings

        studio = accounts.authenticate(owner, OWNER_PASSWORD).studio
        mailsettings.save_smtp(mailsettings.account_of(studio), mailsettings.SmtpInput(
            "smtp.example.com", 587, "starttls", "", "", SENDER, "Studio Lichtblick", "", limit_per_minute=20,
            limit_per_day=50), True, utcnow())
        profile = profiles.save_profile(studio, None, ProfileInput("Reminder", "", [NotificationInput(
            trigger="days_before_archived", days=3, audience="all", channel="email", subject="Last days",
            body="Hello {{ customer.first_name }}", category="service")]))  # a notice, not an offer
        job = jobs.save_job(studio, None, jobs.JobInput(name="Grundschule Am Park", profile_id=profile.id,
                                                       archives_at=date.today() + timedelta(days=30)), None)
        for n in range(120):
            customers.register(job, customers.CustomerInput(f"Kid{n}", "X", f"kid{n}-{size}@example.com",
                                                            email_consent=True), "staff", {"email": "ok"}, utcnow())
        job_id = job.id
    page = page_for(viewport)
    page.goto(f"{base_url}/jobs/{job_id}")
    timeline = page.locator("#timeline")
    expect(timeline.get_by_text("Sending limits: the last goes about", exact=False)).to_be_visible()
    check_layout(page)
    timeline.screenshot(path=str(SCREENSHOTS / f"job-timeline-limits-{size}.png"))  # the page is 120 customers long


def test_staff_see_that_sending_is_paused_and_whom_to_ask(chromium, live_server, page_for, owner):
    """A wrong password paused sending: the owner gets the fix, staff on the tablet (who answer the
    customers) learn it too, read-only, and whom to ask."""
    from shutterbell import diagnostics, mailsettings

    from .conftest import sign_in

    app, base_url = live_server
    staff_email = owner.replace("owner-", "sam-")
    with app.app_context():
        studio = accounts.authenticate(owner, OWNER_PASSWORD).studio
        sam, _ = accounts.invite_staff(studio, staff_email, "Sam")
        accounts.accept_invite(sam, "Sam", OWNER_PASSWORD)
        account = mailsettings.account_of(studio)
        account.studio_id = studio.id
        failure = diagnostics.classify("smtp", "auth", "535 5.7.8 Username and Password not accepted", 535)
        mailsettings.record_failure(account, "smtp", failure, utcnow())
        from shutterbell.extensions import db
        db.session.add(account)
        db.session.commit()

    desktop = page_for(DESKTOP)
    banner = desktop.get_by_role("alert")
    expect(banner).to_contain_text("sending is paused since")
    expect(banner.get_by_role("link", name="Check the email settings")).to_be_visible()

    context = chromium.new_context(viewport=TABLET, has_touch=True)
    tablet = context.new_page()
    sign_in(tablet, base_url, staff_email)
    banner = tablet.get_by_role("alert")
    expect(banner).to_contain_text("sending is paused since")
    expect(banner).to_contain_text(f"Ask the studio owner ({owner}) to check the email settings.")
    expect(banner.get_by_role("link")).to_have_count(0)  # the settings are the owner's
    expect(banner).not_to_contain_text("not accepted")
    expect(banner).not_to_contain_text("535 5.7.8")  # the server's words are for the owner (the address may hold "535")
    check_layout(tablet)
    screenshot(tablet, "paused-banner-staff-tablet")
    context.close()


def test_waiting_approvals_show_on_the_dashboard_and_the_job_page_and_are_approved_there(
        page_for, live_server, owner):
    app, base_url = live_server
    with app.app_context():
        studio = accounts.authenticate(owner, OWNER_PASSWORD).studio
        profile = profiles.save_profile(studio, None, ProfileInput("Geprüft", "", [NotificationInput(
            trigger="customer_registered", days=None, audience="potential_buyers", channel="email",
            subject="Willkommen, {{ customer.first_name }}", body="Grüße an {{ customer.first_name }} 📷",
            requires_approval=True)]))
        jobs_made = []
        for name in ("Kita Sonnenblume", "Schule Łąka"):
            job = jobs.save_job(studio, None, jobs.JobInput(name=name, profile_id=profile.id), None)
            for first in ("Zoë", "Jürgen"):
                customers.register(job, customers.CustomerInput(first, "Ü", f"{mailbox_of(first)}-{job.id}@example.com",
                                                                email_consent=True), "staff", {"email": "ok"}, utcnow())
            jobs_made.append(job.id)
        outbox.schedule(utcnow() + timedelta(seconds=1), settings.current().outbox)

    desktop = page_for(DESKTOP)
    waiting = desktop.get_by_role("region", name="Waiting for approval")
    expect(waiting).to_contain_text("Kita Sonnenblume: 2 messages await approval")
    expect(waiting).to_contain_text("Schule Łąka: 2 messages await approval")
    check_layout(desktop)
    screenshot(desktop, "dashboard-approvals-desktop")
    waiting.locator("form", has_text="Kita Sonnenblume").get_by_role("button", name="Approve all").click()
    expect(desktop.get_by_role("status")).to_contain_text("2 messages approved: they go out now.")
    expect(waiting).not_to_contain_text("Kita Sonnenblume")

    tablet = page_for(TABLET)
    tablet.goto(f"{base_url}/jobs/{jobs_made[1]}")
    expect(tablet.locator(".approvals")).to_contain_text("2 messages await approval")
    check_layout(tablet)
    screenshot(tablet, "job-approvals-tablet")
    tablet.locator(".approvals").get_by_role("link", name="Review").click()
    expect(tablet.get_by_text("Willkommen, Zoë")).to_be_visible()  # the outbox, filtered to this job's
    tablet.go_back()
    tablet.locator(".approvals").get_by_role("button", name="Approve all").click()
    expect(tablet.get_by_role("status")).to_contain_text("2 messages approved")
    expect(tablet.locator(".approvals")).to_have_count(0)
    assert tablet.url.endswith(f"/jobs/{jobs_made[1]}")


@pytest.mark.parametrize("viewport, size", [(DESKTOP, "desktop"), (TABLET, "tablet")])
def test_results_per_notification_and_per_job_show_delivered_bounced_and_the_buy_rate(
        page_for, live_server, owner, smtp, monkeypatch, viewport, size):
    from shutterbell import bounces, orders
    from shutterbell.models import Message
    from shutterbell.extensions import db

    app, base_url = live_server
    with app.app_context():
        studio = sending_through(smtp, app, monkeypatch, owner)
        job = jobs.save_job(studio, None, jobs.JobInput(name="Tanzschule Müller", profile_id=studio.default_profile_id),
                            None)
        people = {}
        for name in ("Anna", "Björn", "Céline", "Dorota"):
            people[name], _ = customers.register(job, customers.CustomerInput(
                name, "Größer", f"{name[0].lower()}-{size}@example.com", email_consent=True), "staff", {"email": "ok"},
                utcnow())
        job_id, profile_id = job.id, studio.default_profile_id
        policy = settings.current().outbox
        now = utcnow() + timedelta(seconds=1)
        outbox.schedule(now, policy)
        outbox.dispatch(now, policy, lambda ids, at_front: outbox.send_batch(ids, policy))
        to_dorota = db.session.scalar(db.select(Message).where(Message.recipient == f"d-{size}@example.com"))
        bounces.apply(studio.id, [bounces.Bounce(to_dorota.recipient, "5.1.1", "550 5.1.1 no such user",
                                                 to_dorota.message_id)], utcnow())
        orders.record(job, people["Anna"], 12900, utcnow() + timedelta(seconds=2), paid=True)
    page = page_for(viewport)
    page.goto(f"{base_url}/settings/profiles/{profile_id}/results")
    welcome = page.locator("table.results tr", has_text="After a customer registered")
    expect(welcome.locator("td")).to_have_text(["Email After a customer registered Welcome! Your photos from {{ job.name }}",
                                                "4", "3", "1", "0", "0", "1", "33%", "€129.00"],
                                               use_inner_text=True)
    check_layout(page)
    screenshot(page, f"profile-results-{size}")
    page.goto(f"{base_url}/jobs/{job_id}")
    results = page.locator("#results")
    expect(results.locator("tr", has_text="After a customer registered").locator("td").nth(7)).to_have_text("33%")
    results.scroll_into_view_if_needed()
    check_layout(page)
    screenshot(page, f"job-results-{size}")

    page.goto(f"{base_url}/")  # the dashboard's chart: its axis reads at the page's own size
    axis = page.locator(".chart-axis")
    expect(axis).to_contain_text("today")
    assert float(axis.evaluate("el => parseFloat(getComputedStyle(el).fontSize)")) >= 13
    assert axis.evaluate("el => el.getBoundingClientRect().width") == pytest.approx(
        page.locator("svg.chart").evaluate("el => el.getBoundingClientRect().width"), abs=1)
    check_layout(page)
    screenshot(page, f"dashboard-chart-{size}")


@pytest.mark.parametrize("viewport, size", [(DESKTOP, "desktop"), (TABLET, "tablet")])
def test_without_instance_mail_the_invitation_goes_out_from_the_studio_s_address(page_for, live_server, owner, smtp,
                                                                                  monkeypatch, viewport, size):
    import email
    import email.policy

    app, base_url = live_server
    mailbox = smtp[0]
    assert not settings.of(app).instance_mail
    with app.app_context():
        sending_through(smtp, app, monkeypatch, owner, sender_name="Fotostudio Łódź & Söhne")
    page = page_for(viewport)
    page.goto(f"{base_url}/settings/users/")
    page.get_by_label("Email").fill(f"zofia-{size}@lichtblick.example")
    page.get_by_label("Name").fill("Zofia Wójcik")
    page.get_by_role("button", name="Invite").click()
    expect(page.get_by_role("status")).to_contain_text(
        f"Invitation sent to zofia-{size}@lichtblick.example from your studio’s address {SENDER}")
    expect(page.locator("input[value*='/invite/']")).to_have_count(0)
    check_layout(page)
    screenshot(page, f"users-invited-through-studio-{size}")
    sent = email.message_from_bytes(mailbox.received[-1], policy=email.policy.default)
    assert sent["To"] == f"zofia-{size}@lichtblick.example" and sent["From"] == f"Fotostudio Łódź & Söhne <{SENDER}>"
