"""The app speaks English and German. Every word a page shows is marked for translation (the
templates' text and the messages Python hands to a page), the German catalogue translates every
marked text with its placeholders intact, and a German studio gets its pages, its public pages
and its recommended profiles and templates in German, while an English one keeps English."""
import ast
import os
import re
from datetime import date, datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import flask_babel
import pytest
import sqlalchemy as sa
from babel import localedata
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir, extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask_migrate import upgrade

from app import create_app
from shutterbell import accounts, customers, i18n, jobs, outbox, profiles
from shutterbell.extensions import db
from shutterbell.models import (Alert, Consent, Customer, Job, MailTemplate, Message, Notification, Profile, SchedulerPass, Studio,
                                utcnow)
from shutterbell.outbox.outcomes import finish
from shutterbell.outbox.studio_batch import StudioBatch
from shutterbell.recommended import WELCOME

from .conftest import PASSWORD, REDIS_BASE_URL, Browser, _worker_number, text_of

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = ROOT / "translations" / "de" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_ngettext": (1, 2)}  # N_ is one of Babel's defaults
# Placeholders a translation must keep as they are: %(name)s, {{ job.name }}, {% if ... %}.
PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)


def marked_texts() -> set:
    """Every text the code marks for translation, as pybabel extracts it (scripts/translations)."""
    found = set()
    for folder, pattern, method in (("blueprints", "**.py", "python"), ("shutterbell", "**.py", "python"),
                                    ("templates", "**.html", "jinja2")):
        found.update(message for _f, _l, message, *_ in extract_from_dir(ROOT / folder, [(pattern, method)],
                                                                          keywords=KEYWORDS))
    for name in ("app.py", "worker.py"):
        found.update(message for _l, message, *_ in extract_from_file("python", ROOT / name, keywords=KEYWORDS))
    return found


def german_catalogue():
    with CATALOGUE.open("rb") as po:
        return read_po(po, locale="de")


def test_the_german_catalogue_translates_every_marked_text_with_its_placeholders():
    catalogue, missing, broken = german_catalogue(), [], []
    for text in marked_texts():
        entry = catalogue.get(text[0] if isinstance(text, tuple) else text)
        translations = [] if entry is None else list(entry.string) if isinstance(entry.string, tuple) else [entry.string]
        if entry is None or entry.fuzzy or not all(translations):
            missing.append(text)
            continue
        for original, translated in zip(text if isinstance(text, tuple) else [text] * len(translations), translations):
            if sorted(PLACEHOLDER.findall(original)) != sorted(PLACEHOLDER.findall(translated)):
                broken.append((original, translated))
    assert not missing, f"{len(missing)} texts without a German translation (scripts/translations update): " \
                        f"{sorted(map(str, missing))[:10]}"
    assert not broken, f"placeholders changed in translation: {broken[:5]}"


class _VisibleText(HTMLParser):
    """Text and the attributes people read (placeholder, title, aria-label, alt), outside scripts."""
    READ = {"placeholder", "title", "aria-label", "alt"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found, self.hidden = [], 0

    def handle_starttag(self, tag, attrs):
        self.hidden += tag in ("script", "style")
        self.found += [value for name, value in attrs if name in self.READ and value]

    def handle_endtag(self, tag):
        self.hidden -= tag in ("script", "style")

    def handle_data(self, data):
        if not self.hidden:
            self.found.append(data)


# Jinja's own syntax, with the strings inside expressions ({{ _('... }} ...') }}) kept whole.
JINJA = re.compile(r"\{#.*?#\}|\{%(?:'[^']*'|\"[^\"]*\"|[^'\"])*?%\}|\{\{(?:'[^']*'|\"[^\"]*\"|[^'\"])*?\}\}",
                   re.DOTALL)
WORD = re.compile(r"[^\W\d_]{2,}")
NOT_WORDS = re.compile(r"Shutterbell|Message-ID")  # the product's name and a header's


def test_every_word_in_the_templates_is_marked_for_translation():
    """After the template's Jinja ({{ _('...') }} included) is taken out, no word may be left."""
    unmarked = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        parser = _VisibleText()
        parser.feed(JINJA.sub(" ", path.read_text(encoding="utf-8")))
        unmarked += [f"{path.relative_to(ROOT)}: {text.strip()!r}" for text in parser.found
                     if WORD.search(NOT_WORDS.sub("", text))]
    assert not unmarked, "\n".join(unmarked)


# What hands a message to a page: a flash, a form's field and its validation error, and the
# exceptions whose words a page shows.
SHOWN = {"flash", "ValidationError", "Invalid", "AccountError", "ImportFileError", "DnsProblem", "Unavailable"}


def _words_in(node) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(WORD.search(node.value))
    return isinstance(node, ast.JoinedStr) and any(_words_in(part) for part in node.values)


def test_every_message_python_shows_on_a_page_is_marked_for_translation():
    unmarked = []
    for path in [ROOT / "app.py", *sorted((ROOT / "blueprints").rglob("*.py")), *sorted((ROOT / "shutterbell").rglob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            called = getattr(node.func, "id", getattr(node.func, "attr", ""))
            if called in SHOWN or called.endswith("Field"):
                shown = node.args[:1] + [k.value for k in node.keywords if k.arg in ("label", "description", "message")]
                unmarked += [f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(arg)[:80]}"
                             for arg in shown if _words_in(arg)]
    assert not unmarked, "\n".join(unmarked)


@pytest.fixture(scope="module")
def german_app(tmp_path_factory):
    """The app with the German catalogue as it is in the repository (compiled here, so the test
    reads the .po, not a stale .mo), on its own SQLite database."""
    folder = tmp_path_factory.mktemp("catalogues")
    (folder / "de" / "LC_MESSAGES").mkdir(parents=True)
    with (folder / "de" / "LC_MESSAGES" / "messages.mo").open("wb") as mo:
        write_mo(mo, german_catalogue())
    os.environ.setdefault("INSTANCE_PATH", str(tmp_path_factory.mktemp("instance")))
    app = create_app({"TESTING": True, "BABEL_TRANSLATION_DIRECTORIES": str(folder),
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path_factory.mktemp('db') / 'i18n.db'}",
                      "REDIS_URL": f"{REDIS_BASE_URL}/{1 + _worker_number() % 15}", "SERVER_NAME": "shutterbell.test"})
    with app.app_context():
        upgrade()
    return app


def german(text: str) -> str:
    return german_catalogue()[text].string


def studio(app, name: str, locale: str, owner: str):
    with app.app_context():
        user = accounts.create_studio(accounts.NewStudio(name, "Europe/Berlin", locale, owner, PASSWORD))
        job = jobs.save_job(user.studio, None, jobs.JobInput(name="Abschlussball Gymnasium Süd", profile_id=None,
                                                             archives_at=date.today() + timedelta(days=40)), None)
        return user.studio_id, job.access_code


def test_a_german_studio_works_in_german_and_an_english_one_in_english(german_app):
    lichtblick, code = studio(german_app, "Fotostudio Lichtblick", "de_DE", "olivia@lichtblick.example")
    london, _ = studio(german_app, "Brightlight Studio", "en_GB", "owen@brightlight.example")
    owner = Browser(german_app.test_client())
    owner.post("/login", {"email": "olivia@lichtblick.example", "password": PASSWORD})
    dashboard = text_of(owner.get("/"))
    assert '<html lang="de">' in dashboard and german("Outbox") in dashboard and ">Outbox<" not in dashboard
    profiles_page = text_of(owner.get("/settings/profiles/"))
    assert german("Recommended: standard") in profiles_page and german("Recommended: sales push") in profiles_page
    with german_app.app_context():
        welcome = db.session.scalar(sa.select(Notification).join(Profile).where(
            Profile.studio_id == lichtblick, Notification.trigger == "customer_registered"))
        assert (welcome.subject, welcome.body) == (german(WELCOME.subject), german(WELCOME.body))
        assert welcome.body.startswith("Hallo {{ customer.first_name }}")
        templates = set(db.session.scalars(sa.select(MailTemplate.name).where(MailTemplate.studio_id == lichtblick)))
        assert german("Booking confirmation") in templates
        english = db.session.scalars(sa.select(Profile.name).where(Profile.studio_id == london)).all()
        assert set(english) == {"Recommended: standard", "Recommended: sales push"}
    brightlight = Browser(german_app.test_client())
    brightlight.post("/login", {"email": "owen@brightlight.example", "password": PASSWORD})
    assert '<html lang="en">' in text_of(brightlight.get("/")) and ">Outbox<" in text_of(brightlight.get("/"))

    # The studio's customers: the sign-up page in German, and the consent stored as it was shown.
    customer = Browser(german_app.test_client())
    signup = text_of(customer.get(f"/j/{code}"))
    assert '<html lang="de">' in signup and german("Sign up") in signup
    customer.post(f"/j/{code}", {"first_name": "Jürgen", "last_name": "Weiß", "email": "juergen@example.de",
                                 "email_consent": "y"})
    with german_app.app_context():
        wording = db.session.scalar(sa.select(Consent.wording))
        assert wording and wording in signup  # the German words the person ticked
        confirmation = db.session.scalar(sa.select(Message))  # the double opt-in email, in German too
        assert confirmation.subject == german("Please confirm your sign-up for {{ job.name }}").replace(
            "{{ job.name }}", "Abschlussball Gymnasium Süd")


def test_a_page_without_a_studio_speaks_the_browsers_language(german_app):
    visitor = Browser(german_app.test_client())
    assert german("Sign in") in text_of(visitor.get("/login", headers={"Accept-Language": "de-AT,de;q=0.9"}))
    assert ">Sign in<" in text_of(visitor.get("/login", headers={"Accept-Language": "fr-FR,en;q=0.5"}))


def test_a_text_in_another_language_within_a_page_and_the_page_after_it(german_app):
    """The catalogue a request found is kept for its other texts (bench/page_times.py), yet an
    email in a studio's language, made while a page in another is drawn, speaks its own."""
    from flask import render_template_string
    from flask_babel import force_locale, gettext

    with german_app.test_request_context("/", headers={"Accept-Language": "de"}):
        assert render_template_string("{{ _('Outbox') }}") == german("Outbox")
        with force_locale("en"):
            assert render_template_string("{{ _('Outbox') }}") == gettext("Outbox") == "Outbox"
        assert render_template_string("{{ _('Outbox') }}") == gettext("Outbox") == german("Outbox")


def test_what_the_app_writes_down_for_a_studio_is_in_its_language_whoever_writes_it(german_app):
    """The scheduler pass, the worker and the sweeper work for every studio at once, with no page
    and no browser: why a message was skipped or failed, and the owner's alerts, are still written
    in each studio's own language (its outbox and its alerts show them as written)."""
    ids = {"de": studio(german_app, "Fotostudio Weiß", "de_DE", "weiss@lichtblick.example")[0],
           "en": studio(german_app, "Brightlight Skies", "en_GB", "owen@skies.example")[0]}
    now = utcnow()
    with german_app.app_context():
        for language, studio_id in ids.items():
            job = db.session.scalar(sa.select(Job).where(Job.studio_id == studio_id))
            job.profile_id = profiles.save_profile(db.session.get(Studio, studio_id), None, profiles.ProfileInput(
                "Willkommen", "", [welcome("email"), welcome("sms")])).id
            for name, at in (("Jürgen", now), ("Łucja", now - timedelta(days=2))):  # Łucja: while the app was down
                customers.register(job, customers.CustomerInput(
                    name, "Weiß", f"{ASCII[name]}.{language}@example.de", "+49 151 23456789",
                    email_consent=True, sms_consent=True), "staff", {"email": "ok", "sms": "ok"}, at)
        db.session.add(SchedulerPass(started_at=now - timedelta(days=3), finished_at=now - timedelta(days=3), made=0))
        db.session.commit()
        outbox.schedule(now + timedelta(minutes=1), outbox.Policy(base_url="https://fotos.example"))

        def made(language, channel, who="Jürgen"):
            return db.session.scalar(sa.select(Message).join(Message.customer).where(
                Message.studio_id == ids[language], Message.channel == channel, Customer.first_name == who))

        no_account = "No text message account was set up when this text fell due."
        assert (made("de", "sms").status, made("de", "sms").last_error) == ("skipped", german(no_account))
        assert made("en", "sms").last_error == no_account
        late = "Its moment passed more than %(hours)d hours before the app could send it."
        assert [(made(language, "email", "Łucja").status, made(language, "email", "Łucja").last_error)
                for language in ("de", "en")] == [("skipped", german(late) % {"hours": 24}),
                                                  ("skipped", late % {"hours": 24})]

        # What the worker checks before it sends: the job was archived meanwhile.
        policy = outbox.Policy(base_url="https://fotos.example")
        said = []
        for language in ("de", "en"):
            email = made(language, "email")
            email.job.status = "archived"
            batch = StudioBatch(db.session.get(Studio, ids[language]), policy)
            batch.read_customers([email])
            said.append(batch.why_not(email))
        assert said == [german("The job was archived."), "The job was archived."]
        db.session.rollback()

        # The worker gives up on an email: the owner's alert, in German for the German studio.
        reply = "550 5.1.1 <juergen.de@example.de>: Empfänger unbekannt 📭"
        for language in ids:
            email = made(language, "email")
            email.status = "sending"
            db.session.commit()
            finish(email, "failed", now, error=reply)
        alerts = {a.studio_id: a.text for a in db.session.scalars(sa.select(Alert).where(Alert.kind == "failed"))}
        failed_for_good = "A message to %(to)s failed for good: %(why)s"
        assert alerts[ids["de"]] == german(failed_for_good) % {"to": "juergen.de@example.de", "why": reply}
        assert alerts[ids["en"]] == failed_for_good % {"to": "juergen.en@example.de", "why": reply}

        # The sweeper fails a message whose worker died with it every time, each in its language.
        for language in ids:
            stuck = made(language, "sms")
            stuck.status, stuck.attempts, stuck.lease_until = "sending", 8, now - timedelta(minutes=1)
        db.session.commit()
        outbox.sweep(now, policy)
        died = "The worker stopped while sending this message, every time it tried."
        assert [made(language, "sms").last_error for language in ("de", "en")] == [german(died), died]


ASCII = {"Jürgen": "juergen", "Łucja": "lucja"}


def welcome(channel: str) -> profiles.NotificationInput:
    return profiles.NotificationInput(trigger="customer_registered", audience="potential_buyers", channel=channel,
                                      subject="Willkommen, {{ customer.first_name }}!" if channel == "email" else "",
                                      body="Grüße aus Köln 📸")


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/Montreal"])
def test_pages_write_dates_and_times_as_flask_babel_does_in_every_width_and_language(app, zone, monkeypatch):
    """``datetimeformat`` joins the locale's date and time patterns into one (i18n.format_datetime):
    the same text as Flask-Babel's filter, across a clock change, in the studio's time zone, and in
    every locale Babel knows (a new CLDR's glue could differ)."""
    monkeypatch.setattr(app.extensions["babel"], "default_timezone", zone)  # as a signed-in studio's would be
    moments = [datetime(2026, 10, 25, hour, 30, tzinfo=timezone.utc) for hour in (0, 1, 2)] + [
        datetime(2027, 3, 28, 1, 59, tzinfo=timezone.utc), datetime(2026, 12, 31, 23, 5, 9, tzinfo=timezone.utc)]
    with app.test_request_context("/"):
        assert app.jinja_env.filters["datetimeformat"] is i18n.format_datetime
        for language in ("en", "de", "fr", "pl", "en_GB", "de_AT", "fr_CA", "ja", "fa"):
            with flask_babel.force_locale(language):
                for width in ("short", "medium", "long", "full", "EEEE, d. MMMM y 'um' HH:mm"):
                    for moment in moments:
                        assert i18n.format_datetime(moment, width) == flask_babel.format_datetime(moment, width)
        for language in localedata.locale_identifiers() if zone == "Europe/Berlin" else ():
            with flask_babel.force_locale(language):
                for width in ("short", "medium", "long", "full"):
                    assert i18n.format_datetime(moments[0], width) == flask_babel.format_datetime(moments[0], width)
        with flask_babel.force_locale("de"):
            rendered = app.jinja_env.from_string("{{ when|datetimeformat('short') }}").render(when=moments[-1])
        assert rendered == ("01.01.27, 00:05" if zone == "Europe/Berlin" else "31.12.26, 18:05")


@pytest.mark.parametrize("ago, words", [(timedelta(seconds=1), "letzte Meldung vor 1 Sekunde)"),
                                        (timedelta(seconds=42), "letzte Meldung vor 42 Sekunden)"),
                                        (timedelta(minutes=7), "zuletzt vor 7 Minuten gemeldet")])
def test_counts_on_the_dashboard_read_right_for_one_and_for_many(german_app, ago, words):
    """"vor 1 Sekunden" read the dashboard of a German studio whose worker had just checked in."""
    import time_machine
    from shutterbell import queue

    studio(german_app, f"Fotostudio Weiß {ago.seconds}", "de_DE", f"juergen{ago.seconds}@weiss.example")
    owner = Browser(german_app.test_client())
    owner.post("/login", {"email": f"juergen{ago.seconds}@weiss.example", "password": PASSWORD})
    now = datetime(2026, 12, 6, 9, 30, tzinfo=timezone.utc)
    with german_app.app_context():
        queue.current().redis.set(queue.HEARTBEAT_KEY, (now - ago).isoformat())
    with time_machine.travel(now, tick=False):
        assert words in text_of(owner.get("/"))


def test_the_test_email_speaks_the_owners_language_in_seven_bits(german_app):
    """"Send a test email to me" wrote English to a German owner; any server takes it (7-bit)."""
    from shutterbell import mailcheck

    with german_app.test_request_context(), flask_babel.force_locale("de_DE"):
        message = mailcheck._test_email("info@xn--mller-kva.example", "juergen@weiss.example")
    assert message["Subject"] == german("Shutterbell: test email") == "Shutterbell: Test-E-Mail"
    assert "über das eigene E-Mail-Konto Ihres Studios" in message.get_content() and message.as_bytes().isascii()
