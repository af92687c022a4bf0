"""Set-up, sign-in, roles and invitations."""
import re
from datetime import timedelta

import time_machine

from shutterbell import accounts
from shutterbell.extensions import db
from shutterbell.models import Studio, User, utcnow

from .conftest import PASSWORD, Browser, text_of


def setup_data(token, **overrides):
    return {"setup_token": token, "studio_name": "Studio Lichtblick", "time_zone": "Europe/Berlin",
            "locale": "de_DE", "owner_email": "Olivia@Lichtblick.example", "password": PASSWORD, **overrides}


def test_a_fresh_instance_sends_the_first_visitor_to_set_up(browser, ctx):
    response = browser.get("/")
    assert response.status_code == 302 and response.location.endswith("/setup")
    assert "Set-up token" in text_of(browser.get("/setup"))


def test_set_up_needs_the_token_that_run_printed(browser, ctx):
    token = accounts.issue_setup_token()
    wrong = browser.post("/setup", setup_data("guessed"))
    assert wrong.status_code == 422 and "This is not the token ./run printed" in text_of(wrong)
    assert accounts.instance_is_empty()

    right = browser.post("/setup", setup_data(token))
    assert right.status_code == 302 and right.location.endswith("/settings/profiles/")
    studio = db.session.query(Studio).one()
    assert (studio.name, studio.time_zone, studio.locale) == ("Studio Lichtblick", "Europe/Berlin", "de_DE")
    owner = db.session.query(User).one()
    assert owner.email == "olivia@lichtblick.example" and owner.is_owner
    assert owner.password_hash != PASSWORD and owner.password_hash.startswith("scrypt:")
    # The token is spent and the page is gone.
    assert browser.get("/setup").status_code == 302
    assert accounts.issue_setup_token() is None


def test_set_up_rejects_bad_fields_with_422(browser, ctx):
    token = accounts.issue_setup_token()
    response = browser.post("/setup", setup_data(token, time_zone="Mars/Olympus", password="short"))
    assert response.status_code == 422
    assert "Not a valid choice." in text_of(response) and "at least 10" in text_of(response)
    assert accounts.instance_is_empty()


def test_the_cli_creates_a_studio_and_prints_set_up_tokens(app, ctx):
    runner = app.test_cli_runner()
    token = runner.invoke(args=["setup-token"]).output.strip()
    assert re.fullmatch(r"[\w-]{20,}", token)
    result = runner.invoke(args=["create-studio", "--name", "Studio CLI", "--owner-email", "cli@example.com",
                                 "--password", PASSWORD])
    assert result.exit_code == 0, result.output
    assert "Created studio 'Studio CLI'" in result.output
    assert "already has a studio" in runner.invoke(args=["setup-token"]).output
    assert not accounts.setup_token_valid(token)
    duplicate = runner.invoke(args=["create-studio", "--name", "Again", "--owner-email", "CLI@example.com",
                                    "--password", PASSWORD])
    assert duplicate.exit_code != 0 and "already exists" in duplicate.output


def test_sign_in_and_out(browser, olivia):
    wrong = browser.post("/login", {"email": olivia.email, "password": "not it"})
    assert wrong.status_code == 422 and "Wrong email or password." in text_of(wrong)
    assert browser.post("/login", {"email": "OLIVIA@lichtblick.example", "password": PASSWORD}).status_code == 302
    assert "Studio Lichtblick" in text_of(browser.get("/"))
    assert browser.get("/logout").status_code == 405  # signing out is a POST (CSRF-protected)
    browser.post("/logout")
    assert browser.get("/").location.endswith("/login")


def test_sign_in_never_redirects_off_site(browser, olivia):
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example", "/%09/evil.example",
                   "/%0a/evil.example", "/\t/evil.example", "///evil.example"):
        response = browser.post(f"/login?next={target}", {"email": olivia.email, "password": PASSWORD})
        assert response.location == "/", target
    response = browser.post("/login?next=/settings/profiles/", {"email": olivia.email, "password": PASSWORD})
    assert response.location == "/settings/profiles/"


def test_the_owner_invites_staff_who_choose_a_password(as_olivia, app, olivia):
    page = text_of(as_olivia.post("/settings/users/", {"email": "sam@lichtblick.example", "name": "Sam"}))
    base = app.config["BASE_URL"]  # links for email come from BASE_URL, never the request's Host
    link = re.search(rf'value="({re.escape(base)}/invite/[^"]+)"', page).group(1)
    assert "Pass the link below on" in page
    sam = Browser(app.test_client())
    path = link.removeprefix(base)
    assert sam.post(path, {"name": "Sam", "password": "short"}).status_code == 422
    assert sam.post(path, {"name": "Sam", "password": PASSWORD}).status_code == 302
    assert "Studio Lichtblick" in text_of(sam.get("/"))
    assert sam.get(path).status_code == 404  # the link works once


def test_an_invitation_expires_after_a_week(as_olivia, app, olivia):
    _, token = accounts.invite_staff(olivia.studio, "late@lichtblick.example")
    with time_machine.travel(utcnow() + timedelta(days=8)):
        assert Browser(app.test_client()).get(f"/invite/{token}").status_code == 404


def test_staff_cannot_manage_users(as_sam, olivia):
    assert as_sam.get("/settings/users/").status_code == 403
    assert as_sam.post(f"/settings/users/{olivia.id}/remove").status_code == 403
    assert "Users" not in text_of(as_sam.get("/")).split("<main")[0]


def test_the_owner_removes_staff_but_not_herself_and_not_other_studios_users(as_olivia, olivia, sam, otto):
    assert as_olivia.post(f"/settings/users/{otto.id}/remove").status_code == 404
    as_olivia.post(f"/settings/users/{olivia.id}/remove")
    assert db.session.get(User, olivia.id) is not None
    sam_id = sam.id
    as_olivia.post(f"/settings/users/{sam_id}/remove")
    db.session.expire_all()
    assert db.session.get(User, sam_id) is None


def test_the_dashboard_stops_suggesting_to_invite_staff_once_someone_is_invited(as_olivia, olivia):
    assert "Invite your staff" in text_of(as_olivia.get("/"))
    accounts.invite_staff(olivia.studio, "sam@lichtblick.example", "Sam")
    assert "Invite your staff" not in text_of(as_olivia.get("/"))


def test_staff_are_not_told_to_adapt_profile_texts_they_cannot_edit(as_olivia, as_sam):
    advice = "Review the recommended profiles and adapt their texts to your studio."
    assert advice in text_of(as_olivia.get("/")) and advice not in text_of(as_sam.get("/"))



def test_set_up_preselects_the_browser_s_language_and_a_studio_gets_its_zone_s_country(browser, ctx):
    from blueprints.forms import locale_for

    accounts.issue_setup_token()
    page = text_of(browser.get("/setup", headers={"Accept-Language": "pl-PL,pl;q=0.9,en;q=0.5"}))
    assert '<option selected value="pl_PL">Polski</option>' in page
    warsaw = re.search(r'<option[^>]*value="Europe/Warsaw"[^>]*>', page).group(0)
    assert 'data-country="PL"' in warsaw  # what the page's script picks the country by
    assert [locale_for(tags) for tags in (["de-LU"], ["fr-CA", "de"], ["ja", "nl-BE"], ["ja"])] == \
        ["de_DE", "fr_FR", "nl_NL", None]
    owner = accounts.create_studio(accounts.NewStudio("Fotografia Łódź", "Europe/Warsaw", "en_GB",
                                                      "ola@lodz.example", PASSWORD))
    assert owner.studio.country == "PL"  # the zone's, not the locale's (GB)
    assert accounts.country_of("UTC", "en_GB") == "GB"  # a zone of no country: the locale's
