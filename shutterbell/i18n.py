"""The languages the app speaks (its catalogues in ``translations/``).

Texts a studio gets as data (the recommended profiles and mail templates) are marked with
``N_`` and translated into the studio's language when the studio is made; the app's own words
with ``_``/``_l``, when a page is drawn (``app._page_language`` picks the language). Words the
app writes down or sends for a studio (an email, an alert, why a message was skipped) are in the
studio's language whoever wrote them: a page, the worker or the scheduler (``speaking``)."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from functools import cached_property, lru_cache

from babel import Locale, dates
from flask import current_app, g
from flask_babel import Babel, Domain, force_locale, get_locale, get_timezone

LANGUAGES = ("en", "de")  # an instance may speak fewer (config LANGUAGES): the tests speak English


def N_(text: str) -> str:
    """Marks a text for the catalogues (pybabel's keyword ``N_``); translated where it is used."""
    return text


def languages() -> tuple[str, ...]:
    return tuple(current_app.config.get("LANGUAGES", LANGUAGES))


def language_of(locale: str) -> str:
    """The language a studio's locale (de_AT) speaks in the app: its own where the app speaks it,
    else English."""
    language = locale.split("_")[0]
    return language if language in languages() else "en"


@contextmanager
def speaking(studio):
    """``_`` speaks the studio's language within, and an ``_l`` text turned into a string there
    (its customers and its owner read what is written for it). Takes anything with a ``locale``:
    this module sits below the models."""
    with force_locale(language_of(studio.locale)):
        yield


class _RequestDomain(Domain):
    """Flask-Babel's catalogue lookup, kept for the rest of the request once found: Flask-Babel
    finds its context (``g._flask_babel``) three times and names the locale again for every text,
    and a page of 50 profiles translates some 600. Kept beside the locale it was found for, so
    ``force_locale`` (an email in the studio's language), which replaces that locale, still switches."""

    def get_translations(self):
        try:
            babel_context = g._flask_babel  # Flask-Babel 4's own per-request namespace
        except (AttributeError, RuntimeError):  # nothing looked up yet, or no app context
            return super().get_translations()
        kept = getattr(babel_context, "kept_catalogue", None)
        if kept is not None and kept[0] is getattr(babel_context, "babel_locale", None):
            return kept[1]
        translations = super().get_translations()
        babel_context.kept_catalogue = (get_locale(), translations)
        return translations


class RequestBabel(Babel):
    @cached_property
    def domain_instance(self):
        return _RequestDomain(domain=self.domain)

    def init_app(self, app, *args, **kwargs):
        """Templates ask the domain straight away (Flask-Babel's own callables look up the domain
        first, per text)."""
        super().init_app(app, *args, **kwargs)
        app.jinja_env.install_gettext_callables(
            gettext=lambda text: self._catalogue().ugettext(text),
            ngettext=lambda one, many, n: self._catalogue().ungettext(one, many, n),
            pgettext=lambda context, text: self._catalogue().upgettext(context, text),
            npgettext=lambda context, one, many, n: self._catalogue().unpgettext(context, one, many, n),
            newstyle=True)
        app.jinja_env.globals["_"] = app.jinja_env.globals["gettext"]  # not through Jinja's alias, a call more
        app.jinja_env.filters["datetimeformat"] = format_datetime

    def _catalogue(self):
        return self.domain_instance.get_translations()


def format_datetime(moment: datetime, width: str = "medium") -> str:
    """``{{ when|datetimeformat('short') }}`` as Flask-Babel writes it (the page's language, the
    studio's time zone), in a third less time: a table of fifty messages shows fifty dates. A
    width or a pattern of its own ("d. MMMM, HH:mm"); the app configures no BABEL date formats."""
    locale = get_locale()
    pattern = _datetime_pattern(locale, width) if width in ("short", "medium", "long", "full") else width
    return dates.format_datetime(moment, pattern, tzinfo=get_timezone(), locale=locale)


@lru_cache(maxsize=32)
def _datetime_pattern(locale: Locale, width: str) -> str:
    """The locale's date and time patterns of a width ("short") joined as its glue says
    ("{1}, {0}"), as one pattern: Babel formats the date, the time and the glue apart each time."""
    glue = str(dates.get_datetime_format(width, locale=locale))
    return glue.replace("{0}", str(dates.get_time_format(width, locale=locale))).replace(
        "{1}", str(dates.get_date_format(width, locale=locale)))
