"""Test fixtures: a real database (SQLite and PostgreSQL, every test runs on both), a real Redis,
and named people: Olivia owns Studio Lichtblick, Sam is her staff, Otto owns another studio."""
from __future__ import annotations

import contextvars
import dataclasses
import functools
import os
import re
import tempfile
import unicodedata
import uuid
from pathlib import Path

import psycopg
import pytest
from flask_migrate import upgrade

from app import create_app
from shutterbell import accounts, queue, settings
from shutterbell.extensions import babel, db, mail
from shutterbell.models import Studio

from .imapserver import dovecot
from .mailservers import PASSWORD as SMTP_PASSWORD
from .mailservers import SENDER, USERNAME, Mailbox, make_certificate, submission_server
from .smsserver import sms_api

POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_BASE_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
PASSWORD = "correct horse battery"


def _worker_number() -> int:
    name = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(re.sub(r"\D", "", name) or 0)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        return
    name = f"shutterbell_test_{_worker_number()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    """One app per database backend; the schema comes from the migrations, as in production. It
    speaks English to every studio, with no catalogues (the tests read the app's own words, and
    pages' formats in English); tests/test_translations.py checks the German."""
    os.environ["INSTANCE_PATH"] = str(tmp_path_factory.mktemp("instance"))
    app = create_app({
        "TESTING": True,
        "LANGUAGES": ["en"], "BABEL_TRANSLATION_DIRECTORIES": str(tmp_path_factory.mktemp("no-catalogues")),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": f"{REDIS_BASE_URL}/{1 + _worker_number() % 15}",
        "SERVER_NAME": "shutterbell.test",
        "MAIL_PRIVATE_HOSTS": "allow",  # the test mail servers are on loopback; test_netguard checks the guard
    })
    with app.app_context():
        upgrade()
    return app


@pytest.fixture(autouse=True)
def _own_catalogues():
    """Flask-Babel caches catalogues per process, by locale, whichever app loaded them: each test
    starts without, so an app with the German catalogue and one without never read each other's."""
    domain = vars(babel).get("domain_instance")  # made at the first translation, then kept
    if domain is not None:
        domain.cache.clear()


@pytest.fixture(autouse=True)
def _clean_database(request):
    """Every test starts with empty tables (deleting rows is much faster than rebuilding) and an
    empty Redis database of its own."""
    if "app" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    queue.connect(app.config["REDIS_URL"]).flushdb()
    yield
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as connection:
            connection.execute(Studio.__table__.update().values(default_profile_id=None))  # the one FK cycle
            for table in reversed(db.metadata.sorted_tables):
                connection.execute(table.delete())


def configure_app(app, monkeypatch, **values) -> None:
    """Other instance settings for one test. The app built its settings once
    (shutterbell/settings.py), so a test replaces the object, as a restart would."""
    current = app.extensions[settings.KEY]
    if "base_url" in values:
        values["outbox"] = dataclasses.replace(current.outbox, base_url=values.pop("base_url"))
    monkeypatch.setitem(app.extensions, settings.KEY, dataclasses.replace(current, **values))


@pytest.fixture
def configure(app, monkeypatch):
    """``configure(mail_ca_file=...)``: the test app's settings, for this test."""
    return functools.partial(configure_app, app, monkeypatch)


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def olivia(ctx):
    """Owner of Studio Lichtblick."""
    return accounts.create_studio(accounts.NewStudio(
        "Studio Lichtblick", "Europe/Berlin", "de_DE", "olivia@lichtblick.example", PASSWORD))


@pytest.fixture
def sam(olivia):
    """Staff member of Studio Lichtblick."""
    user, _ = accounts.invite_staff(olivia.studio, "sam@lichtblick.example", "Sam")
    accounts.accept_invite(user, "Sam", PASSWORD)
    return user


@pytest.fixture
def otto(ctx):
    """Owner of another studio: must never see Lichtblick's data."""
    return accounts.create_studio(accounts.NewStudio(
        "Fotostudio Nebenan", "Europe/Vienna", "de_AT", "otto@nebenan.example", PASSWORD))


class Browser:
    """A test client that signs in and sends the CSRF token like the real pages do.

    Each request runs in an empty context, so it gets its own app context, ``g`` and database
    session, as in production, instead of sharing the test's (which hides bugs).
    """

    def __init__(self, client):
        self.client = client
        self.token = None

    def _request(self, method, *args, **kwargs):
        return contextvars.Context().run(getattr(self.client, method), *args, **kwargs)

    def csrf(self) -> str:
        if self.token is None:
            page = self._request("get", "/login").get_data(as_text=True)
            self.token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        return self.token

    def get(self, url, **kwargs):
        return self._request("get", url, **kwargs)

    def post(self, url, data=None, htmx=False, **kwargs):
        data = {"csrf_token": self.csrf(), **(data or {})}
        headers = {**({"HX-Request": "true"} if htmx else {}), **kwargs.pop("headers", {})}
        return self._request("post", url, data=data, headers=headers, **kwargs)

    def sign_in(self, user, password=PASSWORD):
        response = self.post("/login", {"email": user.email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        return self


@pytest.fixture
def browser(app):
    return Browser(app.test_client())


@pytest.fixture
def as_olivia(app, olivia):
    return Browser(app.test_client()).sign_in(olivia)


@pytest.fixture
def as_sam(app, sam):
    return Browser(app.test_client()).sign_in(sam)


@pytest.fixture
def as_otto(app, otto):
    return Browser(app.test_client()).sign_in(otto)


def mailbox_of(name: str) -> str:
    """What comes before the @ for a person of this name: "Łukasz" -> "lukasz", "Groß" -> "gross"
    (no mail server here takes letters such as ü there)."""
    plain = unicodedata.normalize("NFKD", name.translate(str.maketrans({"ß": "ss", "ł": "l", "Ł": "L"})))
    return "".join(c for c in plain if c.isascii() and (c.isalnum() or c in ".-_")).lower()


def text_of(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture(scope="session")
def bare_app(tmp_path_factory):
    """An app for tests that need no database (templating, diagnostics), in English like ``app``."""
    os.environ.setdefault("INSTANCE_PATH", str(tmp_path_factory.mktemp("instance")))
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://",
                       "LANGUAGES": ["en"],
                       "BABEL_TRANSLATION_DIRECTORIES": str(tmp_path_factory.mktemp("no-catalogues"))})


@pytest.fixture
def bare_ctx(bare_app):
    with bare_app.app_context():
        yield


@pytest.fixture(scope="session")
def certificate(tmp_path_factory):
    """A self-signed certificate for the test mail servers: (cert_path, key_path)."""
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def _submission(certificate):
    mailbox = Mailbox()
    with submission_server(*certificate, handler=mailbox) as port:
        yield mailbox, port


@pytest.fixture
def server(_submission):
    """The test SMTP server (STARTTLS, then AUTH; keeps what it receives), reset: (mailbox, port)."""
    _submission[0].reset()
    return _submission


@pytest.fixture
def smtp_port(server):
    return server[1]


@pytest.fixture(scope="session")
def _sms_api():
    with sms_api() as running:
        yield running


@pytest.fixture
def sms_provider(configure, _sms_api, app, monkeypatch):
    """The stand-in SMS provider, reset, and the app pointed at it: (provider, base_url)."""
    _sms_api[0].reset()
    configure(sms_gateway="twilio", sms_api_url=_sms_api[1])
    return _sms_api


@pytest.fixture(scope="session")
def imap_ports(certificate):
    """A private Dovecot with the test certificate: (starttls_port, ssl_port); the user has the
    folders INBOX (one message) and Sent. Its folder is outside pytest's private temp folder:
    Dovecot's mail process runs as the dovecot user."""
    folder = Path(tempfile.mkdtemp(prefix="dovecot-"))
    folder.chmod(0o755)
    with dovecot(folder, *certificate) as ports:
        yield ports


@pytest.fixture
def instance_mail(configure, app, server, monkeypatch):
    """The instance's own mail settings point at the test server (Flask-Mail reads them once)."""
    mailbox, port = server
    settings = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": port, "MAIL_USE_TLS": True, "MAIL_USERNAME": USERNAME,
                "MAIL_PASSWORD": SMTP_PASSWORD, "MAIL_DEFAULT_SENDER": SENDER, "MAIL_SUPPRESS_SEND": False}
    for name, value in settings.items():
        monkeypatch.setitem(app.config, name, value)
    monkeypatch.setitem(app.extensions, "mail", mail.init_mail(app.config))
    configure(base_url="https://photos.lichtblick.example", instance_mail=True)
    return mailbox
