"""Every page at desktop and tablet size: it renders without script errors or CSP violations,
nothing is wider than the screen, and controls are touch-sized. Screenshots land in screenshots/."""
import re
from contextlib import contextmanager

import pytest
from playwright.sync_api import expect

from shutterbell import accounts, jobs, profiles

from ..conftest import PASSWORD
from .conftest import DESKTOP, TABLET, screenshot, serve, sign_in
from .test_profiles_browser import redrawn

pytestmark = pytest.mark.e2e


def check_layout(page):
    """Nothing wider than the screen; every control at least 44 px high on a tablet's (touch)
    layout, 36 px at a desk."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], "the page scrolls sideways"
    small = page.evaluate("""() => Array.from(document.querySelectorAll(
        'main button, main .button, main select, main input:not([type=hidden]):not([type=checkbox]):not([type=radio])'))
        .filter(el => el.offsetParent !== null && !el.closest('[aria-hidden=true]') && el.getBoundingClientRect().height < (window.innerWidth <= 1000 ? 44 : 36))
        .map(el => el.outerHTML.slice(0, 80))""")
    assert small == [], small


@pytest.mark.parametrize("viewport, size", [(DESKTOP, "desktop"), (TABLET, "tablet")])
def test_owner_pages(page_for, live_server, owner, viewport, size):
    app, base_url = live_server
    with app.app_context():
        studio = accounts.authenticate(owner, PASSWORD).studio
        profile_id = profiles.list_profiles(studio)[1].id
    page = page_for(viewport)
    for name, path in [("dashboard", "/"), ("users", "/settings/users/"), ("studio", "/settings/studio/"),
                       ("email-settings", "/settings/email/"), ("outbox-empty", "/outbox/"),
                       ("jobs", "/jobs/"), ("job-new", "/jobs/new"),
                       ("profile-edit", f"/settings/profiles/{profile_id}"),
                       ("profile-results", f"/settings/profiles/{profile_id}/results"),
                       ("profile-delete", f"/settings/profiles/{profile_id}/delete"),
                       ("audit-log", "/settings/studio/audit"), ("invoices-empty", "/invoices/"),
                       ("invoice-new", "/invoices/new"), ("alerts", "/alerts/")]:
        page.goto(base_url + path)
        page.wait_for_load_state("networkidle")
        check_layout(page)
        screenshot(page, f"{name}-{size}")
    page.goto(base_url + "/settings/users/")
    page.get_by_label("Email").fill(f"sam-{size}-{owner}")
    page.get_by_role("button", name="Invite").click()
    assert "/invite/" in page.locator("input.copy").input_value()
    screenshot(page, f"users-invited-{size}")
    assert page.js_errors == []


@pytest.mark.parametrize("viewport, size", [(DESKTOP, "desktop"), (TABLET, "tablet")])
def test_staff_see_profiles_read_only(chromium, live_server, owner, viewport, size):
    app, base_url = live_server
    with app.app_context():
        studio = accounts.authenticate(owner, PASSWORD).studio
        user, token = accounts.invite_staff(studio, f"sam-{size}-{owner}")
        accounts.accept_invite(user, "Sam", PASSWORD)
        email, profile_id = user.email, profiles.list_profiles(studio)[0].id
    context = chromium.new_context(viewport=viewport)
    page = context.new_page()
    sign_in(page, base_url, email)
    page.goto(f"{base_url}/settings/profiles/")
    expect(page.get_by_role("link", name="Create profile")).to_have_count(0)
    page.goto(f"{base_url}/settings/profiles/{profile_id}")
    expect(page.get_by_text("Only the studio owner can change profiles.")).to_be_visible()
    expect(page.get_by_role("button", name="Save profile")).to_have_count(0)
    screenshot(page, f"profile-staff-view-{size}")
    context.close()


def test_sign_in_and_set_up_pages(chromium, live_server):
    _, base_url = live_server
    for viewport, size in [(DESKTOP, "desktop"), (TABLET, "tablet")]:
        context = chromium.new_context(viewport=viewport)
        page = context.new_page()
        page.goto(f"{base_url}/login")
        page.get_by_label("Email").fill("nobody@example.com")
        page.get_by_label("Password").fill("wrong password")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_text("Wrong email or password.")).to_be_visible()
        check_layout(page)
        screenshot(page, f"login-error-{size}")
        context.close()


def test_the_set_up_page_of_a_fresh_instance(chromium, tmp_path):
    with serve(tmp_path) as (app, base_url):
        with app.app_context():
            token = accounts.issue_setup_token()
        for viewport, size in [(DESKTOP, "desktop"), (TABLET, "tablet")]:
            context = chromium.new_context(viewport=viewport)
            page = context.new_page()
            page.goto(base_url + "/")
            expect(page.get_by_role("heading", name="Set up your studio")).to_be_visible()
            check_layout(page)
            screenshot(page, f"setup-{size}")
            context.close()
        # A photographer in Vienna whose browser speaks Austrian German: the page guesses all three.
        context = chromium.new_context(viewport=TABLET, timezone_id="Europe/Vienna", locale="de-AT")
        page = context.new_page()
        page.goto(base_url + "/setup")
        expect(page.get_by_label("Time zone")).to_have_value("Europe/Vienna")
        expect(page.get_by_label("Country")).to_have_value("AT")
        expect(page.get_by_label("Locale")).to_have_value("de_AT")
        page.get_by_label("Time zone").select_option("Europe/Warsaw")  # the country follows the zone…
        expect(page.get_by_label("Country")).to_have_value("PL")
        page.get_by_label("Country").select_option("DE")  # …until it is chosen by hand
        page.get_by_label("Time zone").select_option("Europe/Berlin")
        page.get_by_label("Time zone").select_option("Europe/Zurich")
        expect(page.get_by_label("Country")).to_have_value("DE")
        screenshot(page, "setup-guessed-tablet")
        page.get_by_label("Time zone").select_option("Europe/Berlin")
        page.get_by_label("Set-up token").fill(token)
        page.get_by_label("Studio name").fill("Studio Lichtblick")
        page.get_by_label("Your email").fill("olivia@lichtblick.example")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Create studio").click()
        expect(page.get_by_text("Recommended: sales push")).to_be_visible()
        context.close()
        with app.app_context():
            from shutterbell.extensions import db
            from shutterbell.models import Studio

            studio = db.session.scalar(db.select(Studio))
            assert (studio.time_zone, studio.country, studio.locale) == ("Europe/Berlin", "DE", "de_AT")


@pytest.mark.parametrize("viewport, size", [(DESKTOP, "desktop"), (TABLET, "tablet")])
def test_staff_create_and_find_a_job(page_for, live_server, viewport, size):
    _, base_url = live_server
    page = page_for(viewport)
    page.goto(f"{base_url}/jobs/")
    page.get_by_role("link", name="Create job").click()
    page.get_by_label("Job name").fill(f"Kita Regenbogen {size}")
    expect(page.get_by_label("Communication profile")).to_have_value(re.compile(r"\d+"))  # the default
    page.get_by_label("Shoot date").fill("2026-03-02")
    page.get_by_label("Gallery published at").fill("2026-03-16T18:30")
    page.get_by_label("Archives at").fill("2026-03-10")  # before publishing: refused
    page.get_by_role("button", name="Save job").click()
    expect(page.get_by_text("The photos must be archived after they are published.")).to_be_visible()
    screenshot(page, f"job-error-{size}")
    page.get_by_label("Archives at").fill("2026-05-01")
    page.get_by_role("button", name="Save job").click()  # published, but nowhere to link to
    expect(page.get_by_text("before the photos are published: the emails that announce them")).to_be_visible()
    page.get_by_label("Gallery / shop link").fill("https://fotos.lichtblick.example/regenbogen")
    page.get_by_role("button", name="Save job").click()
    expect(page.get_by_role("link", name=f"Kita Regenbogen {size}")).to_be_visible()
    page.wait_for_load_state()  # htmx (a deferred script) is listening only from here on
    page.get_by_label("Search").fill("regenbogen")
    expect(page.locator("#job-results")).to_contain_text("1 job")
    expect(page).to_have_url(re.compile(r"q=regenbogen"))  # in the address: back and reload keep it
    screenshot(page, f"jobs-search-{size}")
    assert page.js_errors == []


PHONE = {"width": 390, "height": 844}


def test_a_parent_signs_up_on_a_phone_and_staff_see_them_on_the_tablet(chromium, live_server, page_for, owner):
    app, base_url = live_server
    with app.app_context():
        studio = accounts.authenticate(owner, PASSWORD).studio
        job = jobs.save_job(studio, None, jobs.JobInput(name="Kita Regenbogen", profile_id=studio.default_profile_id), None)
        code, job_id = job.access_code, job.id
    context = chromium.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    phone = context.new_page()
    phone.goto(f"{base_url}/join")
    phone.get_by_label("Access code").fill(code.lower())
    phone.get_by_role("button", name="Continue").click()
    expect(phone.get_by_role("heading", name="Kita Regenbogen")).to_be_visible()
    check_layout(phone)
    phone.get_by_label("First name").fill("Anna")
    phone.get_by_label("Last name").fill("Schmidt")
    phone.get_by_label("Email", exact=True).fill("anna@example.com")
    phone.get_by_label("Mobile number (optional)").fill("0151 23456789")
    phone.get_by_role("checkbox", name=re.compile("Email me about")).check()
    phone.get_by_text("What you will receive").click()
    plan = phone.locator("details.plan")
    expect(plan).to_contain_text("Right after you confirm your sign-up")
    expect(plan).to_contain_text("7 days before the photos leave the gallery")
    expect(plan).not_to_contain_text("job is archived")  # the editor's words, not a parent's
    screenshot(phone, "signup-phone")
    phone.get_by_role("button", name="Sign up").click()
    expect(phone.get_by_role("heading", name="Thank you!")).to_be_visible()
    screenshot(phone, "signup-thanks-phone")
    context.close()

    tablet = page_for(TABLET)
    tablet.goto(f"{base_url}/jobs/{job_id}")
    customers = tablet.locator("#customers")
    expect(customers).to_contain_text("Anna Schmidt")
    expect(customers).to_contain_text("Unconfirmed")
    expect(customers).to_contain_text("+4915123456789")
    check_layout(tablet)
    screenshot(tablet, "job-with-customers-tablet")
    customers.get_by_role("button", name="Resend confirmation").click()  # Anna says the email never came
    expect(tablet.get_by_role("status")).to_contain_text(
        "A confirmation email went to anna@example.com less than an hour ago. You can send it again after")
    screenshot(tablet, "job-resend-confirmation-tablet")

    customers = tablet.locator("#customers")  # Jürgen's parents phoned: staff add him by hand
    redrawn(tablet, customers.get_by_role("link", name="Add a customer").click, f"/jobs/{job_id}/customers/new")
    expect(tablet).to_have_url(re.compile(rf"/jobs/{job_id}(#customers)?$"))  # in place: the page stays
    expect(tablet.get_by_label("First name")).to_be_focused()  # the link that had the focus is gone
    tablet.get_by_label("First name").type("Jürgen")
    tablet.get_by_label("Last name").fill("Weiß")
    tablet.get_by_label("Email", exact=True).fill("juergen.weiss@example.de")
    customers.get_by_label("Emails", exact=True).check()
    check_layout(tablet)
    screenshot(tablet, "job-add-customer-tablet")
    tablet.get_by_role("button", name="Add customer").click()
    expect(tablet.get_by_role("status")).to_contain_text("Added Jürgen.")
    expect(tablet.locator("#customers")).to_contain_text("Jürgen Weiß")

    tablet.locator("#customers").get_by_role("link", name="Anna Schmidt").click()  # an order is recorded on her page
    tablet.get_by_label("Total (EUR)").fill("48,90")
    check_layout(tablet)
    screenshot(tablet, "customer-record-order-tablet")
    tablet.get_by_role("button", name="Record order").click()
    expect(tablet.get_by_role("status")).to_contain_text("Recorded an order of Anna.")
    expect(tablet.locator("#orders")).to_contain_text("Anna Schmidt")
    expect(tablet.locator("#orders")).to_contain_text("€48.90")  # typed the German way, read as 48.90


@pytest.mark.parametrize("viewport, size", [(DESKTOP, "desktop"), (TABLET, "tablet")])
def test_a_late_sign_up_is_promised_the_photos_and_staff_see_who_still_gets_them(chromium, live_server, page_for,
                                                                                 owner, viewport, size):
    from datetime import timedelta

    from shutterbell.models import utcnow

    app, base_url = live_server
    with app.app_context():
        studio = accounts.authenticate(owner, PASSWORD).studio
        job = jobs.save_job(studio, None, jobs.JobInput(
            name=f"École Sainte-Hélène {size}", profile_id=studio.default_profile_id,
            published_at=utcnow() - timedelta(days=2), gallery_url="https://photos.example/ste-helene"), None)
        code, job_id = job.access_code, job.id
    context = chromium.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    phone = context.new_page()
    phone.goto(f"{base_url}/j/{code}")
    expect(phone.locator(".lead")).to_have_text(
        "Your photos are online: sign up to get the link, and hear from us before the gallery closes.")
    phone.get_by_text("What you will receive").click()
    plan = phone.locator("details.plan")
    expect(plan).to_contain_text("The link to your photos, right after you confirm")
    expect(plan).not_to_contain_text("As soon as the photos are online")  # they are, already
    screenshot(phone, f"signup-published-phone-{size}")
    context.close()

    page = page_for(viewport)
    page.goto(f"{base_url}/jobs/{job_id}")
    timeline = page.locator("#timeline")
    expect(timeline.get_by_role("row").filter(has_text="When the photos are online").first).to_contain_text(
        "Sent; anyone who signs up now gets it right after confirming")
    details = page.locator("#job-details")
    expect(details).to_contain_text("Recommended: standard")
    screenshot(page, f"job-summary-{size}")
    redrawn(page, page.get_by_role("link", name="Edit details").click, f"/jobs/{job_id}/details")  # the form, in place
    expect(page).to_have_url(f"{base_url}/jobs/{job_id}")
    expect(page.get_by_label("Job name")).to_be_focused()  # the link that had the focus is gone
    page.get_by_label("Communication profile").select_option(label="Recommended: sales push")
    expect(page.locator("#dry-run")).to_contain_text(
        "Anyone who signs up from now on also gets 2 messages right after confirming, as the photos are online already.")
    check_layout(page)
    screenshot(page, f"job-published-timeline-{size}")
    page.get_by_role("button", name="Save job").click()
    expect(page.get_by_role("status")).to_contain_text(f"Saved “École Sainte-Hélène {size}”.")
    page.goto(f"{base_url}/jobs/{job_id}")
    expect(page.locator("#job-details")).to_contain_text("Recommended: sales push")


def test_an_unsubscribe_link_opened_again_says_so_and_offers_the_way_back(chromium, live_server, owner):
    from shutterbell import customers
    from shutterbell.models import utcnow

    app, base_url = live_server
    with app.app_context():
        studio = accounts.authenticate(owner, PASSWORD).studio
        job = jobs.save_job(studio, None, jobs.JobInput(name="Grundschule Nord", profile_id=None), None)
        zoe, _ = customers.register(job, customers.CustomerInput("Zoë", "Wójcik", "zoe.wojcik@example.com",
                                                                 email_consent=True), "staff", {"email": "ok"}, utcnow())
        link = f"{base_url}/u/{zoe.unsubscribe_token}"
    context = chromium.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    phone = context.new_page()
    phone.goto(link)
    phone.get_by_role("button", name="Unsubscribe").click()
    expect(phone.get_by_role("heading", name="You are unsubscribed")).to_be_visible()
    phone.goto(link)  # days later, from the same email
    expect(phone.get_by_role("heading", name="You are unsubscribed")).to_be_visible()
    expect(phone.get_by_role("button", name="Unsubscribe")).to_have_count(0)
    check_layout(phone)
    screenshot(phone, "unsubscribed-again-phone")
    phone.get_by_role("button", name="Subscribe again").click()
    expect(phone.get_by_role("heading", name="Check your inbox")).to_be_visible()
    expect(phone.get_by_text("zoe.wojcik@example.com")).to_be_visible()
    screenshot(phone, "resubscribe-asked-phone")
    context.close()


@pytest.mark.parametrize("viewport, size", [(DESKTOP, "desktop"), (TABLET, "tablet")])
def test_the_owner_searches_the_suppression_list_and_lifts_a_bounce(page_for, live_server, owner, viewport, size):
    from shutterbell import suppression
    from shutterbell.extensions import db
    from shutterbell.models import utcnow

    app, base_url = live_server
    with app.app_context():
        studio = accounts.authenticate(owner, PASSWORD).studio
        for channel, address, reason in (("email", f"jürgen.weiß-{size}@example.de", "unsubscribed"),
                                         ("email", f"zoë-{size}@exmaple.com", "bounced"),
                                         ("sms", "+4915123456789", "stop")):
            suppression.suppress(studio.id, channel, address, reason, utcnow())
        db.session.commit()
    page = page_for(viewport)
    page.goto(f"{base_url}/settings/studio/")
    page.get_by_role("link", name=re.compile("Suppression list")).click()
    expect(page.get_by_text("3 entries")).to_be_visible()
    check_layout(page)
    screenshot(page, f"suppression-list-{size}")
    page.get_by_label("Search").fill("zoë")
    expect(page.get_by_text("1 entry")).to_be_visible()
    assert "q=zo" in page.url  # the search is in the address: back and reload keep it
    page.get_by_role("button", name="Lift").click()
    expect(page.get_by_role("status")).to_contain_text(f"zoë-{size}@exmaple.com gets messages again.")
    page.get_by_label("Search").fill("")
    expect(page.get_by_text("2 entries")).to_be_visible()
    expect(page.get_by_role("button", name="Lift")).to_have_count(0)  # an unsubscribe and a STOP stay


def test_a_search_typed_while_the_page_still_loads_filters_once_its_script_is_ready(page_for, live_server, owner):
    """A slow tablet: the search box is there before htmx is; what was typed is not lost."""
    from shutterbell import suppression
    from shutterbell.extensions import db
    from shutterbell.models import utcnow

    app, base_url = live_server
    with app.app_context():
        studio = accounts.authenticate(owner, PASSWORD).studio
        for address in ("łukasz.wójcik@example.pl", "zoë.früh@example.com"):
            suppression.suppress(studio.id, "email", address, "bounced", utcnow())
        db.session.commit()
    page = page_for(TABLET)
    asked = list_requests_of(page)
    with htmx_held_back(page, f"{base_url}/settings/suppression-list/"):
        page.get_by_label("Search").fill("zoë")
    expect(page.get_by_text("1 entry")).to_be_visible()
    expect(page.get_by_text("łukasz.wójcik@example.pl")).to_have_count(0)
    assert "q=zo" in page.url and len(asked) == 1

    asked.clear()  # a page drawn with its search asks nothing more once htmx is ready
    page.goto(f"{base_url}/settings/suppression-list/?q=zo%C3%AB")
    page.wait_for_load_state("networkidle")
    expect(page.get_by_text("1 entry")).to_be_visible()
    assert asked == []


def test_a_filter_chosen_while_the_page_still_loads_filters_once_its_script_is_ready(page_for, live_server, owner):
    """The same for a list's select: the archived jobs, chosen before htmx was there."""
    app, base_url = live_server
    with app.app_context():
        studio = accounts.authenticate(owner, PASSWORD).studio
        jobs.save_job(studio, None, jobs.JobInput(name="Kita Sonnenschein", profile_id=None), None)
        jobs.save_job(studio, None, jobs.JobInput(name="Grundschule Am Bärenzwinger 2025", profile_id=None,
                                                  status="archived"), None)
    page = page_for(TABLET)
    asked = list_requests_of(page)
    with htmx_held_back(page, f"{base_url}/jobs/"):
        page.get_by_label("Status").select_option(label="Archived")
    expect(page.get_by_text("Grundschule Am Bärenzwinger 2025")).to_be_visible()
    expect(page.get_by_text("Kita Sonnenschein")).to_have_count(0)
    assert "status=archived" in page.url and len(asked) == 1

    asked.clear()  # drawn with a filter chosen, or with none marked chosen (the first is): nothing more
    for address in (f"{base_url}/jobs/?status=archived", f"{base_url}/jobs/"):
        page.goto(address)
        page.wait_for_load_state("networkidle")
    expect(page.get_by_text("Kita Sonnenschein")).to_be_visible()
    assert asked == []


def list_requests_of(page):
    """The htmx requests ``page`` makes from now on (its lists' searches, filters and pagers)."""
    asked = []
    page.on("request", lambda request: "hx-request" in request.headers and asked.append(request.url))
    return asked


@contextmanager
def htmx_held_back(page, address: str):
    """``address`` opened with htmx held back: the body of the ``with`` acts on the page (its
    fields as they are parsed) before htmx is there; htmx arrives as it ends."""
    held = []
    page.route("**/htmx.min.js", lambda route: held.append(route))
    try:
        page.goto(address, wait_until="commit")
        yield
        page.wait_for_timeout(0)  # let the route handler see htmx's request if it is on its way
        for _ in range(100):
            if held:
                break
            page.wait_for_timeout(50)
        assert held, "the page never asked for htmx"
        held[0].continue_()
    finally:
        page.unroute("**/htmx.min.js")


def job_page_on_a_tablet(page_for, live_server, owner, name: str):
    """A new job of the owner's studio, its page open on a tablet: (page, base URL, job id)."""
    app, base_url = live_server
    with app.app_context():
        studio = accounts.authenticate(owner, PASSWORD).studio
        job_id = jobs.save_job(studio, None, jobs.JobInput(name=name, profile_id=None), None).id
    page = page_for(TABLET)
    page.goto(f"{base_url}/jobs/{job_id}")
    return page, base_url, job_id


def test_job_details_that_cannot_open_in_place_open_on_their_own_page(page_for, live_server, owner):
    page, base_url, job_id = job_page_on_a_tablet(page_for, live_server, owner, "Tanzschule Łódź")
    asked = []

    def first_fails(route):  # the connection drops once: the next request gets through
        asked.append(route.request.url)
        route.abort() if len(asked) == 1 else route.continue_()

    page.route("**/jobs/*/details", first_fails)
    page.get_by_role("link", name="Edit details").click()
    expect(page).to_have_url(f"{base_url}/jobs/{job_id}/details")
    expect(page.get_by_label("Job name")).to_have_value("Tanzschule Łódź")
    assert len(asked) == 2


def test_a_tablet_left_open_after_signing_out_everywhere_signs_in_and_comes_back(page_for, live_server, owner):
    tablet, base_url, job_id = job_page_on_a_tablet(page_for, live_server, owner, "Abiball Görlitz")
    desktop = page_for(DESKTOP)
    desktop.get_by_role("button", name="Sign out everywhere").click()
    tablet.get_by_role("link", name="Edit details").click()
    expect(tablet).to_have_url(re.compile(r"/login\?next="))
    expect(tablet.locator("#job-details")).to_have_count(0)  # the sign-in page, not inside the job's card
    tablet.get_by_label("Email").fill(owner)
    tablet.get_by_label("Password").fill(PASSWORD)
    tablet.get_by_role("button", name="Sign in").click()
    expect(tablet).to_have_url(f"{base_url}/jobs/{job_id}")


def remove_lucja(job_id: int) -> None:
    from shutterbell import customers
    from shutterbell.extensions import db
    from shutterbell.models import Customer

    customers.remove(db.session.scalar(db.select(Customer).where(Customer.job_id == job_id, Customer.first_name == "Łucja")))


def test_staff_cancel_one_coming_message_and_remove_a_customer_from_the_list(page_for, live_server, owner):
    """A row's buttons submit the list's one form per action (their form attribute), with the row's
    message or customer: the right one goes, the others stay."""
    from datetime import date, timedelta

    from shutterbell import customers
    from shutterbell.models import utcnow

    app, base_url = live_server
    with app.app_context():
        studio = accounts.authenticate(owner, PASSWORD).studio
        job = jobs.save_job(studio, None, jobs.JobInput(name="Tanzschule Łódź", profile_id=studio.default_profile_id,
                                                        archives_at=date.today() + timedelta(days=30)), None)
        for first, last, email in (("Zoë", "Wójcik", "zoe@example.pl"), ("Jürgen", "Weiß", "juergen@example.de"),
                                   ("Łucja", "Kowalczyk", "lucja@example.pl")):
            customers.register(job, customers.CustomerInput(first, last, email, email_consent=True, marketing_consent=True),
                               "staff", {"email": "ok", "marketing": "ok"}, utcnow())
        job_id = job.id
    page = page_for(TABLET)
    page.goto(f"{base_url}/jobs/{job_id}")
    zoe, juergen, lucja = (page.locator("#customers tbody tr").filter(has_text=name)
                           for name in ("Zoë Wójcik", "Jürgen Weiß", "Łucja Kowalczyk"))
    with app.app_context():  # a colleague removes Łucja meanwhile: her row cannot load what is coming
        remove_lucja(job_id)
    lucja.locator("summary").click()
    expect(lucja.get_by_role("alert")).to_have_text("This part of the page could not be loaded.")
    expect(lucja.get_by_role("link", name="Listed on their page")).to_be_visible()
    expect(zoe).not_to_contain_text("7 days before the job is archived")  # drawn when her row opens
    zoe.locator("summary").click()
    expect(zoe).to_contain_text("7 days before the job is archived")
    check_layout(page)
    screenshot(page, "job-customer-coming-tablet")
    zoe.get_by_role("button", name="Cancel this message").click()
    expect(page.get_by_role("status")).to_contain_text("That message will not be sent.")
    zoe.locator("summary").click()
    expect(zoe).to_contain_text("No message is coming.")
    juergen.locator("summary").click()
    expect(juergen).to_contain_text("7 days before the job is archived")  # his is still coming

    juergen.get_by_role("button", name="Remove").click()
    expect(page.get_by_role("status")).to_contain_text("Removed Jürgen from this job.")
    expect(page.locator("#customers tbody tr")).to_have_count(1)
    page.locator("#customers tbody tr").get_by_role("button", name="Remove").click()  # her cancelled message is history
    expect(page.get_by_role("status")).to_contain_text("Zoë has orders or messages, so they stay on the job.")


def test_without_script_the_job_pages_forms_open_on_its_page_and_its_row_buttons_still_post(page_for, live_server,
                                                                                           owner):
    from shutterbell import customers
    from shutterbell.models import utcnow

    app, base_url = live_server
    with app.app_context():
        studio = accounts.authenticate(owner, PASSWORD).studio
        job = jobs.save_job(studio, None, jobs.JobInput(name="Chor St. Józef", profile_id=None), None)
        for first, last, email in (("Zoë", "Wójcik", "zoe@example.pl"), ("Jürgen", "Weiß", "juergen@example.de")):
            customers.register(job, customers.CustomerInput(first, last, email, email_consent=True), "staff",
                               {"email": "ok"}, utcnow())
        job_id = job.id
    page = page_for(TABLET, javascript=False)
    page.goto(f"{base_url}/jobs/{job_id}")
    page.get_by_role("link", name="Add a customer").click()
    expect(page).to_have_url(re.compile(rf"/jobs/{job_id}/customers/new#add-customer$"))
    page.get_by_label("First name").fill("Łucja")
    page.get_by_label("Last name").fill("Kowalczyk")
    page.get_by_label("Email", exact=True).fill("lucja@example.pl")
    page.get_by_role("button", name="Add customer").click()
    expect(page.get_by_role("status")).to_contain_text("Added Łucja.")

    page.locator("#customers tbody tr").filter(has_text="Jürgen Weiß").get_by_role("button", name="Remove").click()
    expect(page.get_by_role("status")).to_contain_text("Removed Jürgen from this job.")
    expect(page.locator("#customers tbody tr")).to_have_count(2)  # Łucja and Zoë

    page.get_by_role("link", name="Add to the team").click()
    expect(page).to_have_url(re.compile(rf"/jobs/{job_id}/team/new#team-add$"))
    page.locator("#team").get_by_label("Role").fill("Chorleiterin")
    page.locator("#team").get_by_label("Who").select_option(index=1)
    page.locator("#team").get_by_role("button", name="Add to the team").click()
    expect(page.locator("#team tbody")).to_contain_text("Chorleiterin")

    zoe = page.locator("#customers tbody tr").filter(has_text="Zoë Wójcik")
    zoe.locator("summary").click()  # what is coming for her opens on her page
    zoe.get_by_role("link", name="Listed on their page").click()
    expect(page).to_have_url(re.compile(rf"/jobs/{job_id}/customers/\d+#coming$"))
    expect(page.locator("#coming")).to_contain_text("No message is coming.")  # the job has no profile
