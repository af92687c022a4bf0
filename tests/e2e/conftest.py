"""A real server in a thread and Debian's Chromium driven by Playwright (never a downloaded browser)."""
from __future__ import annotations

import contextlib
import functools
import os
import re
import threading
import uuid
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask_migrate import upgrade
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from app import create_app
from shutterbell import accounts, queue

from ..conftest import PASSWORD, REDIS_BASE_URL

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
TABLET = {"width": 820, "height": 1180}


@functools.cache
def _german() -> dict[str, str]:
    """Each text's German; a plural's singular and plural forms each by their own English."""
    po = Path(__file__).resolve().parents[2] / "translations" / "de" / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as file:
        messages = [message for message in read_po(file) if message.id]
    plurals = {form: german for message in messages if isinstance(message.id, tuple)
               for form, german in zip(message.id, message.string)}
    return {**plurals, **{message.id: message.string for message in messages if isinstance(message.id, str)}}


def de(text: str) -> str:
    """What a German studio's page says for ``text`` (what ./run serves speaks its catalogues)."""
    return _german()[text]


@contextlib.contextmanager
def serve(folder: Path):
    """A migrated app on its own SQLite file, served from a thread, in English (like the unit
    tests' app; what ./run serves speaks German to a German studio); yields (app, base_url)."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'live.db'}",
                      "LANGUAGES": ["en"], "BABEL_TRANSLATION_DIRECTORIES": str(folder / "no-catalogues"),
                      "REDIS_URL": f"{REDIS_BASE_URL}/0",  # the unit tests use databases 1-15
                      "MAIL_PRIVATE_HOSTS": "allow"})  # the test mail servers are on loopback
    queue.connect(app.config["REDIS_URL"]).flushdb()  # no sign-in throttle counts from earlier runs
    with app.app_context():
        upgrade()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("live")
    os.environ.setdefault("INSTANCE_PATH", str(folder))
    with serve(folder) as served:
        yield served


@pytest.fixture(scope="session")
def chromium():
    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: apt-get install chromium (.ci/run does)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield browser
        browser.close()


@pytest.fixture
def owner(live_server):
    """A fresh studio and its owner for each browser test."""
    app, _ = live_server
    email = f"owner-{uuid.uuid4().hex[:8]}@lichtblick.example"
    with app.app_context():
        accounts.create_studio(accounts.NewStudio("Studio Lichtblick", "Europe/Berlin", "de_DE", email, PASSWORD))
    return email


def sign_in(page, base_url, email):
    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}/")


@pytest.fixture
def page_for(chromium, live_server, owner):
    """page_for(viewport, javascript=True): a signed-in page at that size."""
    _, base_url = live_server
    contexts = []

    def make(viewport=DESKTOP, javascript=True):
        context = chromium.new_context(viewport=viewport, java_script_enabled=javascript, has_touch=viewport == TABLET)
        contexts.append(context)
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        # Chromium logs every 4xx as a console error; 409 and 422 are answers we mean to give.
        page.on("console", lambda message: message.type == "error" and not re.search(
            r"status of (409|422)", message.text) and errors.append(message.text))
        page.js_errors = errors
        sign_in(page, base_url, owner)
        return page

    yield make
    for context in contexts:
        context.close()


def screenshot(page, name):
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
