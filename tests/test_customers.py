"""Customers: the public sign-up page, staff on the job page, duplicates and consent records."""

import re
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from shutterbell import customers, jobs, profiles, suppression
from shutterbell.extensions import db
from shutterbell.models import Customer

from .conftest import mailbox_of, text_of


@pytest.fixture
def job(olivia):
    standard = profiles.list_profiles(olivia.studio)[1]
    return jobs.save_job(olivia.studio, None, jobs.JobInput(name="Kita Regenbogen", profile_id=standard.id), None)


def person(**overrides):
    return {"first_name": "Anna", "last_name": "Schmidt", "email": "Anna.Schmidt@Example.com",
            "phone": "0151 23456789", "email_consent": "y", "sms_consent": "y", **overrides}


def the_customers(job):
    db.session.expire_all()
    return customers.customers_of(job)


def test_the_sign_up_page_says_what_will_be_sent(browser, job):
    page = text_of(browser.get(f"/j/{job.access_code}"))
    assert "Kita Regenbogen" in page and "Studio Lichtblick" in page
    assert "7 days before the photos leave the gallery" in page and "As soon as the photos are online" in page
    assert "job is archived" not in page  # the editor's words, not a parent's


def test_a_public_sign_up_is_stored_unconfirmed_with_its_consent_records(browser, job):
    response = browser.post(f"/j/{job.access_code}", person())
    assert response.status_code == 200 and "confirm your sign-up" in text_of(response)
    anna, = the_customers(job)
    assert (anna.email, anna.phone, anna.confirmed_at) == ("anna.schmidt@example.com", "+4915123456789", None)
    assert {(c.channel, c.path) for c in anna.consents} == {("email", "signup"), ("sms", "signup")}
    assert "Email me about the photos of Kita Regenbogen from Studio Lichtblick" in anna.consents[0].wording


def test_signing_up_twice_changes_nothing_and_answers_the_same(browser, job):
    browser.post(f"/j/{job.access_code}", person())
    again = browser.post(f"/j/{job.access_code}", person(phone="+44 7911 123456", first_name="Mallory",
                                                         email="anna.schmidt@example.com"))
    assert again.status_code == 200 and "confirm your sign-up" in text_of(again)
    anna, = the_customers(job)
    assert (anna.first_name, anna.phone) == ("Anna", "+4915123456789")


@pytest.mark.parametrize("fields, message", [
    ({"email": "not-an-email"}, "Enter a valid email address"),
    ({"phone": "12"}, "Enter a valid mobile number"),
    ({"phone": "", "sms_consent": "y"}, "Enter a mobile number to get text messages."),
    ({"first_name": ""}, "Enter a first name."),
    # A confirmation could never reach this address: said now, not after "we sent you a link".
    ({"email": "jürgen.weiß@müller.example"}, "Emails cannot reach letters such as ü or ß before the @ yet"),
    # Signed up to hear nothing: "Thank you!" and then no message ever came.
    ({"email_consent": "", "sms_consent": ""}, "Tick how you want to hear about the photos"),
])
def test_bad_sign_ups_are_field_errors(browser, job, fields, message):
    response = browser.post(f"/j/{job.access_code}", person(**fields))
    assert response.status_code == 422 and message in text_of(response)
    assert the_customers(job) == []


def test_a_customer_stored_with_umlauts_before_the_at_can_still_be_corrected(as_sam, job):
    """Refused at sign-up only: one stored before keeps their address while staff correct them."""
    jurgen, _ = customers.register(job, customers.CustomerInput("Jürgen", "Weiss", "jürgen@müller.example",
                                                                email_consent=True), "staff", {"email": "ok"}, job.created_at)
    customers.update(jurgen, customers.CustomerInput("Jürgen", "Weiß", "jürgen@müller.example", email_consent=True),
                     {"email": "ok"}, job.created_at)
    assert the_customers(job)[0].last_name == "Weiß"


def test_a_sign_up_whose_domain_alone_has_umlauts_is_taken(browser, job):
    assert browser.post(f"/j/{job.access_code}", person(email="joerg@müller.example")).status_code == 200
    assert [c.email for c in the_customers(job)] == ["joerg@müller.example"]


def test_the_sign_up_page_is_csrf_protected_and_rate_limited(app, browser, job):
    forged = browser._request("post", f"/j/{job.access_code}", data={**person(), "csrf_token": "forged"})
    assert forged.status_code == 400
    for number in range(20):
        browser.post(f"/j/{job.access_code}", person(email=f"kid{number}@example.com"))
    blocked = browser.post(f"/j/{job.access_code}", person(email="one-more@example.com"))
    assert blocked.status_code == 429 and "Too many sign-ups" in text_of(blocked)
    assert len(the_customers(job)) == 20


def test_codes_lead_to_open_jobs_only(browser, job):
    assert browser.get(f"/join?code={job.access_code.lower()}").location.endswith(f"/j/{job.access_code}")
    assert browser.get("/join?code=NOPE1234").status_code == 404
    jobs.archive_job(job)
    assert browser.get(f"/j/{job.access_code}").status_code == 404


def test_staff_add_correct_and_remove_customers(as_sam, job):
    assert as_sam.post(f"/jobs/{job.id}/customers/", person(sms_consent="")).status_code == 302
    anna, = the_customers(job)
    assert anna.confirmed_at is not None and [c.path for c in anna.consents] == ["staff"]
    duplicate = as_sam.post(f"/jobs/{job.id}/customers/", person(first_name="Other"))
    assert duplicate.status_code == 302 and the_customers(job)[0].first_name == "Anna"
    bad = as_sam.post(f"/jobs/{job.id}/customers/", person(email="nope"))
    assert bad.status_code == 422 and "Enter a valid email address" in text_of(bad)

    response = as_sam.post(f"/jobs/{job.id}/customers/{anna.id}", person(email_consent="", phone="+43 664 1234567"))
    assert response.status_code == 302
    anna = the_customers(job)[0]
    assert anna.phone == "+436641234567"
    email_consent = next(c for c in anna.consents if c.channel == "email")
    assert email_consent.withdrawn_at is not None and anna.has_consent("sms") and not anna.has_consent("email")
    page = text_of(as_sam.get(f"/jobs/{job.id}/customers/{anna.id}"))
    assert "withdrawn" in page and "staff" in page

    assert as_sam.post(f"/jobs/{job.id}/customers/remove", {"customer_id": anna.id}).status_code == 302
    assert the_customers(job) == []


def test_the_add_customer_and_team_forms_open_when_asked_for_and_stay_open_with_a_mistake(as_sam, as_otto, job):
    page = text_of(as_sam.get(f"/jobs/{job.id}"))
    assert 'name="first_name"' not in page and 'name="person"' not in page  # not drawn on every visit
    assert f'hx-get="/jobs/{job.id}/customers/new"' in page and f'href="/jobs/{job.id}/customers/new#add-customer"' in page
    assert f'hx-get="/jobs/{job.id}/team/new"' in page and f'href="/jobs/{job.id}/team/new#team-add"' in page

    for url, first_field in ((f"/jobs/{job.id}/customers/new", "first_name"), (f"/jobs/{job.id}/team/new", "person")):
        part = text_of(as_sam.get(url, headers={"HX-Request": "true"}))  # htmx swaps the form in, the keyboard in it
        assert "<html" not in part and re.search(rf'<[^>]* autofocus [^>]*name="{first_field}"', part), part
        whole = text_of(as_sam.get(url))  # without script: the job page, the form open
        assert "<h1>Kita Regenbogen</h1>" in whole and f'name="{first_field}"' in whole and "autofocus" not in whole
        assert as_otto.get(url).status_code == 404  # another studio's job

    bad = as_sam.post(f"/jobs/{job.id}/customers/", person(first_name="Jürgen", email="jürgen@"))
    assert bad.status_code == 422 and 'value="Jürgen"' in text_of(bad) and "Enter a valid email address" in text_of(bad)
    assert the_customers(job) == []


def test_a_customer_of_another_studio_is_404_even_through_ones_own_job(as_otto, otto, job):
    anna, _ = customers.register(job, customers.CustomerInput("Anna", "S", "anna@example.com"), "staff",
                                 {"email": "", "sms": ""}, job.created_at)
    own = jobs.save_job(otto.studio, None, jobs.JobInput(name="Otto's job", profile_id=None), None)
    assert as_otto.get(f"/jobs/{own.id}/customers/{anna.id}").status_code == 404
    for action in ("remove", "confirmation"):  # the row's customer comes in the form, not the address
        assert as_otto.post(f"/jobs/{own.id}/customers/{action}", {"customer_id": anna.id}).status_code == 404
    for nobody in ({}, {"customer_id": ""}, {"customer_id": "99999999999999999999"}, {"customer_id": "Anna"}):
        assert as_otto.post(f"/jobs/{own.id}/customers/confirmation", nobody).status_code == 404
    assert db.session.get(Customer, anna.id) is not None


def test_a_customer_is_removed_only_through_their_own_job(as_sam, olivia, job):
    zoe, _ = customers.register(job, customers.CustomerInput("Zoë", "Łęcka", "zoe@example.pl"), "staff",
                                {"email": "", "sms": ""}, job.created_at)
    other = jobs.save_job(olivia.studio, None, jobs.JobInput(name="Kita Sonnenschein", profile_id=None), None)
    for action in ("remove", "confirmation"):
        assert as_sam.post(f"/jobs/{other.id}/customers/{action}", {"customer_id": zoe.id}).status_code == 404
    assert the_customers(job) == [zoe]


def test_without_double_opt_in_a_public_sign_up_is_confirmed_at_once(browser, olivia, job):
    olivia.studio.double_opt_in = False
    db.session.commit()
    response = browser.post(f"/j/{job.access_code}", person())
    assert "You are signed up for Kita Regenbogen" in text_of(response)
    assert the_customers(job)[0].confirmed_at is not None


def test_customers_are_listed_by_last_name_as_a_german_reads_it_and_move_when_renamed(as_sam, job):
    """Umlauts and accents sort with their letter ("Öztürk" among the O, "Łęcka" among the L, not
    after "Zimmermann"), case does not matter, the last name comes first, and a corrected name
    moves the row."""
    now = datetime.now(timezone.utc)
    for first, last in [("Jörg", "Zimmermann"), ("Ayşe", "Öztürk"), ("Élodie", "Ostermann"), ("Hans", "ohm"),
                        ("Zoë", "Łęcka"), ("Anna", "Meyer"), ("Zoë", "Meyer"), ("Clara", "Meyerhof"),
                        ("Jürgen", "Groß")]:
        customers.register(job, customers.CustomerInput(first, last, f"{mailbox_of(first)}.{mailbox_of(last)}@example.de",
                                                        email_consent=True), "staff", {"email": "ok"}, now)

    def names():
        return [f"{c.first_name} {c.last_name}" for c in customers.page_of(job).rows]

    assert names() == ["Jürgen Groß", "Zoë Łęcka", "Anna Meyer", "Zoë Meyer", "Clara Meyerhof", "Hans ohm",
                       "Élodie Ostermann", "Ayşe Öztürk", "Jörg Zimmermann"]
    if db.engine.dialect.name == "postgresql":  # by code points, whatever the database's own collation
        assert db.session.scalar(sa.text("SELECT collation_name FROM information_schema.columns "
                                         "WHERE table_name = 'customer' AND column_name = 'sort_name'")) == "C"
    page = text_of(as_sam.get(f"/jobs/{job.id}"))
    assert page.index("Anna Meyer</a>") < page.index("Ayşe Öztürk</a>") < page.index("Jörg Zimmermann</a>")
    jörg = next(c for c in customers.page_of(job).rows if c.first_name == "Jörg")
    customers.update(jörg, customers.CustomerInput("Jörg", "Albrecht", "jorg.zimmermann@example.de",
                                                   email_consent=True), {"email": "ok"}, now)
    db.session.commit()
    assert names()[0] == "Jörg Albrecht"
    ayse = next(c for c in customers.page_of(job).rows if c.first_name == "Ayşe")
    suppression.erase(ayse, now)
    db.session.commit()
    assert db.session.get(Customer, ayse.id).sort_name == "\terased"  # nothing of the name is left


def test_a_bulk_insert_of_customers_works_out_their_order_too(job):
    """Rows inserted without the ORM (a bulk load, the benches) get their order from their names."""
    now = datetime.now(timezone.utc)
    db.session.execute(sa.insert(Customer), [
        {"studio_id": job.studio_id, "job_id": job.id, "first_name": first, "last_name": last,
         "email": f"{n}@example.fr", "unsubscribe_token": f"token-{n}", "registered_at": now}
        for n, (first, last) in enumerate([("Noémie", "Œuvray"), ("Björn", "Ørsted")])])
    db.session.commit()
    assert [c.sort_name for c in customers.page_of(job).rows] == ["oeuvray\tnoemie", "orsted\tbjorn"]


def test_the_job_page_lists_customers_a_page_at_a_time_with_a_search(as_sam, job):
    """A school job has hundreds of sign-ups: the page shows 50 at a time, and a search (htmx, or
    the address a browser without script follows) finds one among them."""
    for n in range(55):
        customers.register(job, customers.CustomerInput(f"Zoë{n:02d}", "Łęcka", f"zoe{n:02d}@example.pl",
                                                        email_consent=True), "staff", {"email": "ok"},
                           datetime.now(timezone.utc))
    page = text_of(as_sam.get(f"/jobs/{job.id}"))
    assert "Customers <span class=\"meta\">(55)</span>" in page and "Page 1 of 2" in page
    assert "Zoë00 Łęcka</a>" in page and "Zoë54 Łęcka</a>" not in page
    second = text_of(as_sam.get(f"/jobs/{job.id}/customers/?page=2", headers={"HX-Request": "true"}))
    assert "Zoë54 Łęcka</a>" in second and "Zoë00 Łęcka</a>" not in second and "<html" not in second
    found = text_of(as_sam.get(f"/jobs/{job.id}/customers/?q=zoe42@", headers={"HX-Request": "true"}))
    assert "Zoë42 Łęcka</a>" in found and "Zoë41" not in found
    without_script = as_sam.get(f"/jobs/{job.id}/customers/?q=%C5%81%C4%99cka&page=2")
    assert without_script.status_code == 302
    assert without_script.headers["Location"].endswith(f"/jobs/{job.id}?cq=%C5%81%C4%99cka&cpage=2#customers")
    assert "Zoë54 Łęcka</a>" in text_of(as_sam.get(f"/jobs/{job.id}?cq=%C5%81%C4%99cka&cpage=2"))
    searched = text_of(as_sam.get(f"/jobs/{job.id}?cq=zoe42@"))  # the heading counts the job's customers, not the found
    assert "Customers <span class=\"meta\">(55)</span>" in searched and "Zoë41" not in searched
