"""The whole journey in one browser, on `./run`'s own processes (embedded Redis, gunicorn, worker,
cron): a German studio is set up (its pages speak German from then on), its SMTP account tested
and saved, a profile with an "after registration" email made and used by a new job, all at tablet
size; a customer signs up from a phone, confirms from the email, gets the profile's email with
the placeholders filled, and unsubscribes with one click; the outbox shows it sent and the
customer unsubscribed.

How long the welcome takes after the confirmation is printed: a confirmation hands its messages
to the worker at once (``dispatch_now``), so it does not wait for the next minute's pass."""
import email
import email.policy
import re
import time

import pytest
from playwright.sync_api import expect

from ..conftest import PASSWORD
from ..mailservers import PASSWORD as SMTP_PASSWORD
from ..mailservers import SENDER, USERNAME
from .conftest import TABLET, de
from .test_profiles_browser import redrawn
from .test_run import Run, free_port, wait_for_http

pytestmark = pytest.mark.e2e
PHONE = {"width": 390, "height": 844}


def received(mailbox, count: int, run: Run, timeout: float = 90) -> list:
    deadline = time.monotonic() + timeout
    while len(mailbox.received) < count:
        assert time.monotonic() < deadline, f"{len(mailbox.received)} of {count} emails:\n{run.output()[-3000:]}"
        time.sleep(0.05)
    return [email.message_from_bytes(raw, policy=email.policy.default) for raw in mailbox.received]


def test_a_studio_s_first_customer_from_set_up_to_unsubscribe(tmp_path, chromium, server, certificate):
    mailbox, smtp_port = server
    run = Run(tmp_path, free_port(), MAIL_CA_FILE=str(certificate[0]))
    try:
        token = run.wait_until(r"one-time token: (\S+)").group(1)
        wait_for_http(run.url, run)
        tablet = chromium.new_context(viewport=TABLET, has_touch=True).new_page()
        tablet.goto(f"{run.url}/setup")
        tablet.locator("[name=setup_token]").fill(token)
        tablet.locator("[name=studio_name]").fill("Fotostudio Jürgens")
        tablet.locator("[name=time_zone]").select_option("Europe/Berlin")
        tablet.locator("[name=locale]").select_option("de_DE")
        tablet.locator("[name=owner_email]").fill("olivia@lichtblick.example")
        tablet.locator("[name=password]").fill(PASSWORD)
        tablet.get_by_role("button", name="Create studio").click()  # the set-up page: the browser's English
        expect(tablet.get_by_text(de("Recommended: standard")).first).to_be_visible()

        tablet.goto(f"{run.url}/settings/email/")
        sending = tablet.get_by_role("region", name=de("Sending (SMTP)"))
        sending.get_by_label(de("SMTP server")).fill("127.0.0.1")
        sending.get_by_label(de("Port")).fill(str(smtp_port))
        sending.get_by_label(de("Security")).select_option("starttls")
        sending.get_by_label(de("Username")).fill(USERNAME)
        sending.get_by_label(de("Password")).fill(SMTP_PASSWORD)
        sending.get_by_label(de("From address")).fill(SENDER)
        sending.get_by_role("button", name=de("Test connection")).click()
        expect(sending.get_by_text(de("Connection works: nothing was sent."))).to_be_visible()
        sending.get_by_role("button", name=de("Test and save")).click()
        expect(tablet.get_by_text(de("Sending settings saved."))).to_be_visible()

        tablet.goto(f"{run.url}/settings/profiles/new")
        tablet.get_by_label(de("Profile name")).fill("Kita 2026")
        redrawn(tablet, lambda: tablet.get_by_role("button", name=de("Add a notification")).click())
        row = tablet.locator(".notification-row").first
        redrawn(tablet, lambda: row.get_by_label(de("Trigger")).select_option(label=de("After a customer registered")))
        row.get_by_label(de("Subject")).fill("Willkommen, {{ customer.first_name }} 📸")
        row.get_by_label(de("Message"), exact=True).fill(
            "Hallo {{ customer.first_name }} {{ customer.last_name }},\n\ndie Fotos von {{ job.name }} kommen bald. "
            "Grüße aus Köln!\n\nAbmelden: {{ unsubscribe_url }}")
        tablet.get_by_role("button", name=de("Save profile")).click()
        tablet.wait_for_url(f"{run.url}/settings/profiles/")

        tablet.goto(f"{run.url}/jobs/new")
        tablet.get_by_label(de("Job name")).fill("Kita Löwenzahn")
        tablet.get_by_label(de("Communication profile")).select_option(label="Kita 2026")
        tablet.get_by_role("button", name=de("Save job")).click()
        tablet.get_by_role("link", name="Kita Löwenzahn").click()
        code = tablet.locator("p.meta strong").first.inner_text()

        phone = chromium.new_context(viewport=PHONE, has_touch=True, is_mobile=True).new_page()
        phone.goto(f"{run.url}/j/{code}")
        phone.get_by_label(de("First name")).fill("Jürgen")
        phone.get_by_label(de("Last name")).fill("Groß")
        phone.get_by_label(de("Email"), exact=True).fill("juergen@example.de")
        phone.locator("[name=email_consent]").check()
        phone.get_by_role("button", name=de("Sign up")).click()
        confirmation, = received(mailbox, 1, run)
        link = re.search(r"https?://\S+/c/\S+", confirmation.get_body(("plain",)).get_content()).group(0)
        assert link.startswith(run.url)
        phone.goto(link)
        phone.get_by_role("button", name=de("Yes, confirm my sign-up")).click()
        confirmed = time.monotonic()
        welcome = received(mailbox, 2, run)[1]
        took = time.monotonic() - confirmed
        print(f"\nfrom the confirmation to the welcome email at the SMTP server: {took:.2f} s")
        assert took < 30  # not the next minute's pass
        assert welcome["Subject"] == "Willkommen, Jürgen 📸"
        text = welcome.get_body(("plain",)).get_content()
        assert "Hallo Jürgen Groß,\n\ndie Fotos von Kita Löwenzahn kommen bald. Grüße aus Köln!" in text.replace("\r\n", "\n")

        unsubscribe = welcome["List-Unsubscribe"].strip("<>")
        assert unsubscribe.startswith(f"{run.url}/u/")
        phone.goto(unsubscribe)
        phone.get_by_role("button", name=de("Unsubscribe")).click()
        expect(phone.get_by_text(de("You are unsubscribed")).first).to_be_visible()

        tablet.goto(f"{run.url}/outbox/")
        rows = tablet.locator("table.outbox tbody tr")
        expect(rows.filter(has_text="Willkommen, Jürgen")).to_contain_text(de("Sent"))
        tablet.goto(f"{run.url}/settings/suppression-list/")
        expect(tablet.locator("main")).to_contain_text("juergen@example.de")
        expect(tablet.locator("main")).to_contain_text(de("Unsubscribed"))
    finally:
        run.stop()
