"""The README's screenshots, made by the app itself: a German studio with a profile, a booked job
with its team and customers, an invoice with its reminders and an alert, served from a throwaway
SQLite database and photographed in Debian's Chromium at tablet width (820×1180).

    .venv/bin/python scripts/screenshots.py [folder]     # default: docs/screenshots

Needs a Redis for the sign-in's rate limit (REDIS_URL, default redis://127.0.0.1:6379/15).
"""
from __future__ import annotations

import os
import sys
import tempfile
import threading
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from app import create_app  # noqa: E402
from shutterbell import (accounts, contacts, customers, invoices, jobs, orders, outbox, profiles, settings,  # noqa: E402
                         team)
from shutterbell.models import utcnow  # noqa: E402

TABLET = {"width": 820, "height": 1180}
OWNER, PASSWORD = "olivia@lichtblick.example", "Lichtblick-2026!"
PAGES = [("dashboard", "/"), ("job", "/jobs/{job}"), ("profile", "/settings/profiles/{profile}"),
         ("invoice", "/invoices/{invoice}"), ("contacts", "/contacts/"), ("outbox", "/outbox/"),
         ("alerts", "/alerts/")]


def _email(trigger: str, audience: str, subject: str, body: str, days: int | None = None):
    return profiles.NotificationInput(trigger=trigger, days=days, audience=audience, channel="email",
                                      subject=subject, body=body)


def seed() -> dict:
    """One studio's week, in German: returns the ids the pages need."""
    owner = accounts.create_studio(accounts.NewStudio("Fotostudio Lichtblick", "Europe/Berlin", "de_DE", OWNER,
                                                      PASSWORD))
    studio = owner.studio
    profile = profiles.save_profile(studio, None, profiles.ProfileInput("Hochzeiten", "Paare, ihr Team und ihre Rechnung", [
        _email("booking_confirmed", "client", "Eure Buchung bei {{ studio.name }}",
               "Liebe {{ client.name }},\n\nwir freuen uns auf den {{ job.shoot_date }}!"),
        _email("days_before_shoot_team", "vendors", "Übermorgen: {{ job.name }}",
               "Hallo {{ member.name }}, bis übermorgen ({{ member.role }}).", days=2),
        _email("job_published", "all", "Eure Fotos sind online 🎉",
               "Hallo {{ customer.first_name }}, hier entlang: {{ job.gallery_url }}"),
        _email("days_before_invoice_due", "client", "Erinnerung: Rechnung {{ invoice.number }}",
               "Offen sind noch {{ invoice.open }}, fällig am {{ invoice.due_on }}.", days=3),
        _email("days_after_invoice_due_unpaid", "client", "Zahlungserinnerung {{ invoice.number }}",
               "Leider ist {{ invoice.open }} noch offen.", days=7),
        _email("payment_received", "studio", "Zahlung von {{ client.name }}",
               "{{ payment.amount }} für Rechnung {{ invoice.number }}.")]))
    couple = contacts.save(studio, None, contacts.ContactInput("Zoë & Łukasz Wąsowski", emails=["zoe@example.pl"],
                                                               phone="+48 601 234 567"))
    venue = contacts.save(studio, None, contacts.ContactInput("Café Würzburg", emails=["events@cafe.example"],
                                                              kind="vendor", company="Würzburger Gastro GmbH"))
    today = date.today()
    job = jobs.save_job(studio, None, jobs.JobInput(
        name="Hochzeit Zoë & Łukasz", profile_id=profile.id, client_id=couple.id, shoot_date=today + timedelta(days=16),
        archives_at=today + timedelta(days=90), gallery_url="https://fotos.lichtblick.example/g/ZOE26"), None)
    team.assign(job, team.AssignInput(f"u{owner.id}", "Fotografin"), utcnow())
    team.assign(job, team.AssignInput(f"c{venue.id}", "Location"), utcnow())
    for first, last, address in (("Jürgen", "Groß", "juergen@example.de"), ("Éloïse", "Lefèvre", "eloise@example.fr"),
                                 ("Małgorzata", "Wiśniewska", "malgorzata@example.pl")):
        customer, _ = customers.register(job, customers.CustomerInput(first, last, address, email_consent=True),
                                         "signup", {"email": "Ja, schickt mir Neuigkeiten zu diesen Fotos."},
                                         utcnow())
        customers.confirm(customer, utcnow())
    orders.record(job, customer, 8990, utcnow(), paid=True)
    invoice = invoices.save(studio, None, invoices.InvoiceInput(couple.id, job_id=job.id, currency="EUR", lines=[
        invoices.LineInput("Hochzeitsreportage – 8 Stunden", "1", "1.890,00", "19"),
        invoices.LineInput("Fotobuch 30×30 cm", "1", "249,00", "19")]))
    invoices.issue(invoice, today)
    outbox.schedule(utcnow() + timedelta(seconds=1), settings.current().outbox)  # what fell due: in the outbox
    return {"job": job.id, "profile": profile.id, "invoice": invoice.id}


def main(folder: Path, browser=None) -> list[Path]:
    """Photograph the pages into ``folder``; ``browser``: a Playwright Chromium already running
    (a test's), else one is started here."""
    if browser is None:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            try:
                return main(folder, chromium)
            finally:
                chromium.close()
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as workdir:
        os.environ.setdefault("INSTANCE_PATH", workdir)
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir}/shots.db",
                          "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")})
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
            ids = seed()
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        made = []
        context = browser.new_context(viewport=TABLET, has_touch=True)
        try:
            page = context.new_page()
            page.goto(f"{base}/login")
            page.get_by_label("Email").fill(OWNER)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{base}/")
            for name, path in PAGES:
                page.goto(base + path.format(**ids))
                page.wait_for_load_state("networkidle")
                made.append(folder / f"{name}.png")
                page.screenshot(path=str(made[-1]))  # the first screenful, as on the tablet
        finally:
            context.close()
            server.shutdown()
    return made


if __name__ == "__main__":
    for path in main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots"):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
