"""A browser session names its user by a random session id, never by the row id. The attack the
probe found: an owner signs a throwaway staff account in, removes it, and on SQLite the next
user created anywhere on the instance got the removed id and with it the old cookies."""
from email.utils import parsedate_to_datetime

import pytest

from shutterbell import accounts, config, jobs
from shutterbell.models import utcnow

from .conftest import PASSWORD, Browser, text_of

COOKIES = ("session", "remember_token")


def signed_in(app, cookies: dict[str, str]) -> bool:
    """A fresh browser holding only these cookies: is it signed in?"""
    browser = Browser(app.test_client())  # each request in an app context of its own, as in production
    for name, value in cookies.items():
        browser.client.set_cookie(name, value, domain="shutterbell.test")
    return browser.get("/").status_code == 200


def cookies_of(browser: Browser, *names: str) -> dict[str, str]:
    return {name: browser.client.get_cookie(name, domain="shutterbell.test").value for name in names}


@pytest.mark.parametrize("replayed", [("session",), ("remember_token",)], ids=["session", "remember-cookie"])
def test_a_removed_user_s_cookies_sign_in_nobody_not_even_the_next_user_created(app, otto, olivia, replayed):
    throwaway, token = accounts.invite_staff(otto.studio, "throwaway@nebenan.example", "Wegwerf")
    accounts.accept_invite(throwaway, "Wegwerf", PASSWORD)
    old_id = throwaway.id
    browser = Browser(app.test_client())
    assert browser.post("/login", {"email": throwaway.email, "password": PASSWORD, "remember": "y"}).status_code == 302
    stolen = cookies_of(browser, *replayed)
    assert signed_in(app, stolen)

    accounts.remove_user(otto.studio, old_id)
    assert not signed_in(app, stolen)
    newcomer, _ = accounts.invite_staff(olivia.studio, "jürgen@lichtblick.example", "Jürgen")  # another studio
    accounts.accept_invite(newcomer, "Jürgen", PASSWORD)
    assert newcomer.id != old_id  # ids are never handed out twice, on SQLite too
    assert not signed_in(app, stolen)


def test_the_last_row_s_id_is_not_reused_after_it_is_deleted(app, olivia):
    first, _ = accounts.invite_staff(olivia.studio, "eins@lichtblick.example", "Eins")
    gone = first.id
    accounts.remove_user(olivia.studio, gone)
    second, _ = accounts.invite_staff(olivia.studio, "zwei@lichtblick.example", "Zwei")
    assert second.id > gone


def test_sign_out_everywhere_ends_the_other_devices_sessions_and_remember_cookies(app, olivia):
    tablet = Browser(app.test_client())
    assert tablet.post("/login", {"email": olivia.email, "password": PASSWORD, "remember": "y"}).status_code == 302
    on_tablet = cookies_of(tablet, *COOKIES)
    desktop = Browser(app.test_client()).sign_in(olivia)
    response = desktop.post("/logout/everywhere")
    assert response.status_code == 302 and response.location.endswith("/login")
    assert not signed_in(app, on_tablet)
    assert not signed_in(app, {"remember_token": on_tablet["remember_token"]})
    assert "Sign out everywhere" in text_of(Browser(app.test_client()).sign_in(olivia).get("/"))


def test_a_part_of_a_page_asked_for_after_the_session_ended_sends_the_whole_page_to_sign_in(app, olivia):
    """A tablet left on a job page overnight, signed out everywhere meanwhile: Edit details takes
    the page to the sign-in page (and back after it), not the sign-in form into the job's card."""
    job = jobs.save_job(olivia.studio, None, jobs.JobInput(name="Kita Sonnenblume Köln", profile_id=None), None)
    tablet = Browser(app.test_client()).sign_in(olivia)
    Browser(app.test_client()).sign_in(olivia).post("/logout/everywhere")
    response = tablet.get(f"/jobs/{job.id}/details", headers={
        "HX-Request": "true", "HX-Current-URL": f"http://shutterbell.test/jobs/{job.id}?cq=K%C3%B6ln"})
    assert response.headers["HX-Redirect"] == f"/login?next=%2Fjobs%2F{job.id}%3Fcq%3DK%25C3%25B6ln"
    assert "password" not in text_of(response)
    page = tablet.get(f"/jobs/{job.id}")  # without htmx, as before: a redirect there and back
    assert page.status_code == 302 and page.location == f"/login?next=%2Fjobs%2F{job.id}"
    back = tablet.post(f"/login?next=%2Fjobs%2F{job.id}%3Fcq%3DK%25C3%25B6ln", {"email": olivia.email,
                                                                              "password": PASSWORD})
    assert back.location == f"/jobs/{job.id}?cq=K%C3%B6ln"


def test_a_new_password_ends_the_user_s_other_sessions(app, olivia):
    laptop = Browser(app.test_client()).sign_in(olivia)
    accounts.set_password(olivia, "a new horse battery staple")
    assert laptop.get("/").status_code == 302


def test_the_remember_cookie_follows_the_session_cookie_s_secure_setting_and_lasts_30_days(app, olivia, monkeypatch):
    monkeypatch.setitem(app.config, "REMEMBER_COOKIE_SECURE", True)
    response = Browser(app.test_client()).post("/login", {"email": olivia.email, "password": PASSWORD,
                                                          "remember": "y"})
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("remember_token="))
    assert "Secure" in cookie and "HttpOnly" in cookie
    expires = parsedate_to_datetime(cookie.split("Expires=")[1].split(";")[0])
    assert 29 <= (expires - utcnow()).days <= 30


def test_both_cookies_are_secure_when_the_setting_says_so(tmp_path):
    loaded = config.load(str(tmp_path), {"SESSION_COOKIE_SECURE": "1"})
    assert loaded["SESSION_COOKIE_SECURE"] is loaded["REMEMBER_COOKIE_SECURE"] is True
