"""Accessibility: axe-core (the npm package, injected by Playwright) over every page a route walk
reaches as the owner, as a staff member and as a customer (the public pages), at a desk and on a
tablet. No serious or critical violation may remain. A new page with an id is walked by itself:
the walk fills each route's arguments from one studio's rows, and fails on an argument it does
not know."""
import re
from pathlib import Path

import pytest

from shutterbell import accounts, customers, imports, invoices, jobs, mail_templates, orders, profiles, team
from shutterbell.extensions import db
from shutterbell.models import Message, utcnow

from ..conftest import PASSWORD
from ..test_isolation import _mail_from_a_stranger
from .conftest import DESKTOP, TABLET, sign_in

pytestmark = pytest.mark.e2e

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# Not pages: a download, partials htmx swaps in, JSON, links that only work once, and the way back
# from a mail provider's sign-in (a redirect).
NOT_PAGES = {"contacts.attachment", "contacts.sync_progress", "profiles.row", "main.healthz", "auth.setup",
             "auth.reset_password", "public.resubscribe", "vendor.static", "static", "email_settings.oauth_done"}
PUBLIC = {"public.signup", "public.confirm", "public.unsubscribe", "public.unsubscribe_from_offers",
          "public.enter_code", "auth.login",
          "auth.forgot_password", "auth.accept_invite"}


def a_studio_with_everything(app, owner):
    """One studio's rows for every kind of id a page takes; returns (arguments, staff email)."""
    with app.app_context():
        studio = accounts.authenticate(owner, PASSWORD).studio
        profile = profiles.list_profiles(studio)[1]
        job = jobs.save_job(studio, None, jobs.JobInput(name="Kita Sonnenschein", profile_id=profile.id), None)
        anna, _ = customers.register(job, customers.CustomerInput("Anna", "Groß", "anna@example.de",
                                                                  email_consent=True), "signup", {"email": "ok"},
                                     utcnow())
        orders.record(job, anna, 4890, utcnow(), paid=False)
        staff, _ = accounts.invite_staff(studio, f"sam-{job.id}@lichtblick.example", "Sam")
        accounts.accept_invite(staff, "Sam", PASSWORD)
        team.assign(job, team.AssignInput(f"u{staff.id}", "Zweitfotograf"), utcnow())
        _, second_invite = accounts.invite_staff(studio, f"neu-{job.id}@lichtblick.example")
        invoice = invoices.save(studio, None, invoices.InvoiceInput(
            anna.contact_id, job_id=job.id, currency="EUR", lines=[invoices.LineInput("Porträt", "1", "120,00", "19")]))
        invoices.issue(invoice, utcnow().date())
        arguments = {
            "job_id": job.id, "profile_id": profile.id, "customer_id": anna.id, "contact_id": anna.contact_id,
            "invoice_id": invoice.id, "message_id": failed_message(job, anna).id,
            "item_id": _mail_from_a_stranger(studio.id).id, "template_id": mail_templates.of_studio(studio)[0].id,
            "import_id": imports.save_preview(job, "kids.csv", imports.preview(job, b"first_name,email\nB,b@x.de\n")).id,
            "code": job.access_code, "token": {"public.confirm": anna.confirm_token,
                                               "public.unsubscribe": anna.unsubscribe_token,
                                               "public.unsubscribe_from_offers": anna.unsubscribe_token,
                                               "auth.accept_invite": second_invite}}
        return arguments, staff.email


def failed_message(job, customer) -> Message:
    message = Message(studio_id=job.studio_id, job_id=job.id, customer_id=customer.id, key=f"oneoff:a11y:{job.id}",
                      channel="email", recipient=customer.email, subject="Hallo", body="Hallo", due_at=utcnow(),
                      status="failed", last_error="550 5.1.1 User unknown", cause="mailbox_unavailable")
    db.session.add(message)
    db.session.commit()
    return message


def pages(app, arguments, public: bool) -> list[tuple[str, str]]:
    """(endpoint, path) of every GET page, signed in or public."""
    found = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in NOT_PAGES or rule.rule.startswith("/api/"):
            continue
        if (rule.endpoint in PUBLIC) != public:
            continue
        path = rule.rule
        for name in rule.arguments:
            assert name in arguments, f"the accessibility walk does not know <{name}> ({rule.rule})"
            value = arguments[name]
            value = value[rule.endpoint] if isinstance(value, dict) else value
            path = re.sub(rf"<[^>]*{name}>", str(value), path)
        found.append((rule.endpoint, path))
    return sorted(found, key=lambda pair: pair[1])


def serious_violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    return page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']})).violations
        .filter(v => v.impact === 'serious' || v.impact === 'critical')
        .map(v => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | ')}`)""")


@pytest.mark.parametrize("viewport", [DESKTOP, TABLET], ids=["desktop", "tablet"])
def test_every_page_has_no_serious_accessibility_violations(chromium, live_server, owner, viewport):
    app, base_url = live_server
    arguments, staff = a_studio_with_everything(app, owner)
    arguments["index"] = 0
    found, walked = [], 0
    for who in (owner, staff, None):
        # The app's Content-Security-Policy allows no injected script; axe is the test's, not the page's.
        context = chromium.new_context(viewport=viewport, bypass_csp=True, has_touch=viewport == TABLET)
        page = context.new_page()
        if who:
            sign_in(page, base_url, who)
        for endpoint, path in pages(app, arguments, public=who is None):
            response = page.goto(base_url + path)
            if response.status == 403 and who == staff:  # the owner's pages
                continue
            assert response.status == 200, f"{path} as {who or 'a customer'}: {response.status}"
            found += [f"{path} as {who or 'a customer'}: {v}" for v in serious_violations(page)]
            walked += 1
        context.close()
    assert walked >= 45
    assert found == [], "\n".join(found)
