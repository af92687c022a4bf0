"""Shutterbell's application factory: ``flask --app app run`` or ``gunicorn 'app:create_app()'``."""
from __future__ import annotations

import os
import re
from pathlib import Path

from dotenv import load_dotenv
from flask import Blueprint, Flask, render_template, request
from flask.json.provider import DefaultJSONProvider
from markupsafe import Markup, escape
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from limits.errors import StorageError
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from shutterbell import channels, config, diagnostics, i18n, messages, queue, settings
from shutterbell.channels import sms
from shutterbell.extensions import babel, csrf, db, htmx, limiter, login_manager, mail, migrate
from shutterbell.models import Message

ROOT = Path(__file__).resolve().parent

# No inline scripts or styles anywhere: htmx's own indicator styles are switched off (base.html).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


class _IdConverter(IntegerConverter):
    """``<int:…>`` in every route, bounded to what a database id can be: a larger number in a URL
    is a 404 like any unknown id, not an overflow deep in the driver."""

    def __init__(self, url_map, *args, **kwargs):
        from shutterbell.models import MAX_ID

        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


class _JSONProvider(DefaultJSONProvider):
    """A body nested too deeply for the parser is bad JSON (400), not a crash (500)."""

    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


class _Shutterbell(Flask):
    json_provider_class = _JSONProvider


def create_app(overrides: dict | None = None) -> Flask:
    load_dotenv(ROOT / ".env")
    app = _Shutterbell(__name__, instance_path=os.environ.get("INSTANCE_PATH", str(ROOT / "instance")))
    app.url_map.converters["int"] = _IdConverter
    app.config.from_mapping(config.load(app.instance_path))
    app.config.from_mapping(overrides or {})
    app.config.setdefault("RATELIMIT_STORAGE_URI", config.limits_storage(app.config["REDIS_URL"]))
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"wrap_exceptions": True, "socket_connect_timeout": 2,
                                                        "socket_timeout": 5})
    if app.config["TRUSTED_PROXIES"]:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_page_language, timezone_selector=_studio_time_zone)
    mail.init_app(app)
    htmx.init_app(app)
    limiter.init_app(app)
    settings.init_app(app)
    queue.init_app(app, int(settings.of(app).outbox.lease.total_seconds()))
    sms.gateway_class(app.config["SMS_BACKEND"])  # an unknown gateway stops the start, not the first text
    app.add_template_filter(_channel_label, "channel_label")
    app.add_template_filter(_breakable, "breakable")
    app.add_template_filter(_money, "money")
    app.add_template_global(_unread_alerts, "unread_alerts")
    app.add_template_global(messages.STATUS_LABELS, "status_labels")
    app.add_template_global(diagnostics.hint_for, "cause_hint")
    app.add_template_global(diagnostics.mended_in_settings)
    app.add_template_global(Message.NOT_DONE, "not_done_statuses")
    app.add_template_global(lambda: get_locale().language, "page_language")
    _configure_sqlite(app)

    from blueprints import (alerts, api, auth, contacts, customers, email_settings, imports, invoices, jobs,
                            mail_templates, main, orders, outbox, profiles, public, studio, suppressions, tokens, users)

    for blueprint in (alerts.bp, api.bp, auth.bp, contacts.bp, customers.bp, email_settings.bp, imports.bp, invoices.bp,
                      jobs.bp,
                      mail_templates.bp, main.bp, orders.bp, outbox.bp, profiles.bp, public.bp, studio.bp,
                      suppressions.bp, tokens.bp, users.bp):
        app.register_blueprint(blueprint)
    # htmx comes from the npm registry (package-lock.json), served straight from node_modules.
    app.register_blueprint(Blueprint("vendor", __name__, static_folder="node_modules/htmx.org/dist",
                                     static_url_path="/static/vendor/htmx"))
    _register_error_pages(app)
    app.after_request(_security_headers)

    from shutterbell import cli

    cli.init_app(app)
    return app


def _channel_label(key: str, consent: bool = False) -> str:
    """``{{ message.channel|channel_label }}``: "Email", "SMS"; with ``consent``: "Emails", "Text messages"."""
    channel = channels.get(key)
    return channel.consent_label if consent else channel.label


_WRAP_POINTS = re.compile(r"([@.])")


def _breakable(address: str) -> Markup:
    """An email address that may wrap after its @ and its dots on a narrow screen, not mid-word."""
    return Markup(_WRAP_POINTS.sub(r"\1<wbr>", str(escape(address or ""))))  # escaping adds no @ and no dot


def _money(amount, currency: str) -> str:
    """An amount as the signed-in studio writes it ("1.234,50 €" in German), as its staff type it."""
    from flask_login import current_user

    from shutterbell import money

    return money.shown(amount, currency, current_user.studio.locale)


def _unread_alerts() -> int:
    """The navigation's count beside "Alerts" (the owner's)."""
    from blueprints.access import page_glance

    return page_glance().unread_alerts


def _page_language() -> str:
    """Pages speak the signed-in studio's language; a studio's public pages (sign-up, unsubscribe)
    its language too (``g.studio_locale``); a page with no studio (signing in, setting up) the
    browser's first choice among ours. Outside a request (the worker, the CLI): English, unless
    the caller speaks a studio's (``i18n.speaking``)."""
    from flask import g, has_request_context, request
    from flask_login import current_user

    if not has_request_context():
        return "en"
    if current_user and current_user.is_authenticated:
        return i18n.language_of(current_user.studio.locale)
    if g.get("studio_locale"):
        return i18n.language_of(g.studio_locale)
    return request.accept_languages.best_match(i18n.languages()) or "en"


def _studio_time_zone() -> str | None:
    """Times on pages are shown in the signed-in studio's time zone."""
    from flask_login import current_user

    return current_user.studio.time_zone if current_user and current_user.is_authenticated else None


def _configure_sqlite(app: Flask) -> None:
    """Web and worker processes write at once: WAL, a busy timeout and foreign keys on."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    from sqlalchemy import event

    with app.app_context():
        database = db.engine.url.database
        if database and database != ":memory:":  # a file made before the instance folder was private
            for suffix in ("", "-wal", "-shm"):
                config.make_private(Path(database + suffix))
        @event.listens_for(db.engine, "connect")
        def _pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            # WAL's recommended setting: no fsync per commit (the worker commits every message);
            # a power cut can lose the last commits, never corrupt the file. A lost "sent" means
            # one resend with the same Message-ID.
            cursor.execute("PRAGMA synchronous=NORMAL")
            # Checkpoints (the only fsyncs left) every 10,000 pages instead of 1,000: a fifth off
            # the worker's per-message commit (bench/delivery.py), for a WAL file of up to ~40 MB.
            cursor.execute("PRAGMA wal_autocheckpoint=10000")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()
            # SQLite's own lower() knows ASCII only: a search for "łęcka" or "öztürk" must find
            # "Łęcka" and "Öztürk", as on PostgreSQL. (No index is built on lower().)
            dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)


def _unicode_lower(value):
    return value.lower() if isinstance(value, str) else value


def _register_error_pages(app: Flask) -> None:
    messages = {
        400: _l("The request could not be understood. Reload the page and try again."),
        403: _l("You do not have permission to do this."),
        404: _l("There is nothing here."),
        429: _l("Too many attempts. Wait a minute and try again."),
    }

    def render(error):
        code = getattr(error, "code", 500)
        if request.path.startswith("/api/"):  # the API answers JSON, even for URLs it does not know
            return {"error": {"code": error.name.lower().replace(" ", "_"), "message": error.description}}, code
        if getattr(error, "response", None) is not None:  # a page of its own (a rate limit's on_breach)
            return error.response
        return render_template("errors/error.html", code=code, message=messages.get(code, error.description)), code

    def limiter_down(error):
        """Fail closed: a limit that cannot be counted refuses the request, loudly."""
        app.logger.error("Rate limits cannot be counted, refusing %s %s: %s", request.method, request.path, error)
        message = _l("This is unavailable for a moment. Try again in a few minutes.")
        if request.path.startswith("/api/"):
            return {"error": {"code": "unavailable", "message": str(message)}}, 503
        return render_template("errors/error.html", code=503, message=message), 503

    for code in (*messages, 405):
        app.register_error_handler(code, render)
    app.register_error_handler(StorageError, limiter_down)

    from flask_wtf.csrf import CSRFError

    app.register_error_handler(CSRFError, lambda e: (
        render_template("errors/error.html", code=400,
                        message=_l("Your form expired or did not come from this site. Reload the page and try again.")),
        400,
    ))


def _security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    # The same address answers a part of the page to htmx and the whole page otherwise: a cache
    # (the browser's Back included) must keep the two apart.
    response.vary.add("HX-Request")
    return response
