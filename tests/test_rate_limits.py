"""Rate limits on what a stranger can post, counted in Redis: the CI's Redis 7 and the embedded
Redis 6.2 that `./run` starts (`python -m shutterbell.embedded_redis`, the same process), where
the hand-written throttle it replaced counted nothing. A limiter that cannot count refuses."""
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import create_app
from shutterbell import jobs, profiles, queue

from .conftest import PASSWORD, Browser, text_of
from .mailservers import free_port
from .test_customers import person
from .test_email_settings import form as smtp_form

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def embedded_redis_url(tmp_path_factory):
    """The embedded Redis exactly as `./run` starts it: a Unix socket in the instance folder."""
    folder = tmp_path_factory.mktemp("embedded-instance")
    process = subprocess.Popen([sys.executable, "-m", "shutterbell.embedded_redis"], cwd=ROOT,
                               env={**os.environ, "INSTANCE_PATH": str(folder)}, start_new_session=True,
                               stdout=subprocess.DEVNULL)
    url = f"unix://{folder / 'redis.sock'}"
    queue.wait_for_redis(url)
    assert queue.connect(url).info("server")["redis_version"].startswith("6.2")
    yield url
    process.terminate()
    process.wait(timeout=10)


def _app_on(app, redis_url: str):
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                       "LANGUAGES": app.config["LANGUAGES"],
                       "BABEL_TRANSLATION_DIRECTORIES": app.config["BABEL_TRANSLATION_DIRECTORIES"],
                       "REDIS_URL": redis_url, "SERVER_NAME": "shutterbell.test", "MAIL_PRIVATE_HOSTS": "allow"})


@pytest.fixture(params=["ci-redis", "embedded-redis"])
def limited(request, app):
    """(app, redis URL): the test app, or the same database counted in the embedded Redis."""
    if request.param == "ci-redis":
        return app, app.config["REDIS_URL"]
    url = request.getfixturevalue("embedded_redis_url")
    queue.connect(url).flushdb()
    return _app_on(app, url), url


def counted_in(redis_url: str) -> int:
    return len(queue.connect(redis_url).keys("LIMITS:LIMITER/shutterbell/*"))


def test_ten_wrong_passwords_pause_sign_in_for_that_address_from_that_connection(limited, olivia):
    limited_app, redis_url = limited
    guesser = Browser(limited_app.test_client())
    for _ in range(10):
        assert guesser.post("/login", {"email": olivia.email, "password": "guess"}).status_code == 422
    paused = guesser.post("/login", {"email": olivia.email.upper(), "password": PASSWORD})
    assert paused.status_code == 429 and "Too many wrong passwords" in text_of(paused)
    assert counted_in(redis_url) >= 2
    # Olivia at her studio, on another connection, is not locked out by the guesser.
    elsewhere = Browser(limited_app.test_client())
    assert elsewhere.post("/login", {"email": olivia.email, "password": PASSWORD},
                          environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code == 302


def test_fifty_wrong_passwords_from_one_connection_pause_it_for_every_address(limited, olivia):
    guesser = Browser(limited[0].test_client())
    for n in range(50):
        guesser.post("/login", {"email": f"user{n}@example.com", "password": "guess"})
    paused = guesser.post("/login", {"email": olivia.email, "password": PASSWORD})
    assert paused.status_code == 429


def test_sign_ups_are_limited_per_address_per_connection_and_per_job(limited, olivia):
    limited_app, _url = limited
    standard = profiles.list_profiles(olivia.studio)[1]
    kitas = [jobs.save_job(olivia.studio, None, jobs.JobInput(name=f"Kita {n}", profile_id=standard.id), None)
             for n in range(6)]
    stranger = Browser(limited_app.test_client())
    # One victim's address signed up to job after job: the sixth is refused, from any connection.
    for n, kita in enumerate(kitas[:5]):
        response = stranger.post(f"/j/{kita.access_code}", person(email="victim@example.de"),
                                 environ_base={"REMOTE_ADDR": f"192.0.2.{n}"})
        assert response.status_code == 200
    refused = stranger.post(f"/j/{kitas[5].access_code}", person(email="Victim@Example.de"),
                            environ_base={"REMOTE_ADDR": "192.0.2.99"})
    assert refused.status_code == 429 and "Too many sign-ups" in text_of(refused)
    # Twenty sign-ups from one connection an hour.
    for n in range(20):
        stranger.post(f"/j/{kitas[0].access_code}", person(email=f"kid{n}@example.de"),
                      environ_base={"REMOTE_ADDR": "203.0.113.5"})
    assert stranger.post(f"/j/{kitas[0].access_code}", person(email="more@example.de"),
                         environ_base={"REMOTE_ADDR": "203.0.113.5"}).status_code == 429
    # 300 an hour for one job, whatever the connections.
    for n in range(300 - 1):  # the victim above was the first
        stranger.post(f"/j/{kitas[1].access_code}", person(email=f"p{n}@example.de"),
                      environ_base={"REMOTE_ADDR": f"10.{n // 250}.{n % 250}.1"})
    blocked = stranger.post(f"/j/{kitas[1].access_code}", person(email="last@example.de"),
                            environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert blocked.status_code == 429
    assert stranger.post(f"/j/{kitas[2].access_code}", person(email="other-job@example.de"),
                         environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code == 200


def test_mail_server_tests_are_limited_per_studio(limited, olivia):
    owner = Browser(limited[0].test_client()).sign_in(olivia)
    for _ in range(20):
        owner.post("/settings/email/smtp/test", smtp_form(free_port(), username=""), htmx=True)
    response = owner.post("/settings/email/smtp/test", smtp_form(free_port(), username=""), htmx=True)
    assert response.status_code == 429 and "Too many tests" in text_of(response)


def test_a_limiter_that_cannot_count_refuses_and_says_so_in_the_log(app, olivia, caplog):
    unreachable = _app_on(app, f"redis://127.0.0.1:{free_port()}/0")
    browser = Browser(unreachable.test_client())
    with caplog.at_level(logging.ERROR):
        response = browser.post("/login", {"email": olivia.email, "password": PASSWORD})
    assert response.status_code == 503 and "unavailable for a moment" in text_of(response)
    assert "Rate limits cannot be counted" in caplog.text
    assert browser.get("/").status_code == 302  # not signed in: the dashboard sends to /login


def test_only_wrong_passwords_count(app, olivia):
    browser = Browser(app.test_client())
    for _ in range(9):
        browser.post("/login", {"email": olivia.email, "password": "guess"})
    for _ in range(5):  # signing in and out all day counts nothing
        assert browser.post("/login", {"email": olivia.email, "password": PASSWORD}).status_code == 302
        browser.post("/logout")
    browser.post("/login", {"email": olivia.email, "password": "guess"})  # the tenth wrong one
    assert browser.post("/login", {"email": olivia.email, "password": PASSWORD}).status_code == 429


def test_password_reset_requests_are_limited_per_connection(app, olivia):
    browser = Browser(app.test_client())
    for n in range(10):
        assert browser.post("/forgot", {"email": f"someone{n}@example.com"}).status_code == 200
    assert browser.post("/forgot", {"email": "one-more@example.com"}).status_code == 429
