"""The languages the app speaks (its catalogues in ``translations/``).

Texts a studio gets as data (the recommended profiles and mail templates) are marked with
``N_`` and translated into the studio's language when the studio is made; the app's own words
with ``_``/``_l``, when a page is drawn (``app._page_language`` picks the language)."""
from __future__ import annotations

from functools import cached_property

from flask import current_app, g
from flask_babel import Babel, Domain, get_locale

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


class _RequestDomain(Domain):
    """Flask-Babel's catalogue lookup, kept for the rest of the request once found: Flask-Babel
    finds its context three times and names the locale again for every text (7 µs; this 5 µs),
    and a page of 50 profiles translates some 600. Kept with the locale object it was found
    for, so ``force_locale`` (an email in the studio's language) still switches."""

    def get_translations(self):
        locale = get_locale()
        found = g.get("_catalogue")
        if found is not None and found[0] is locale:
            return found[1]
        translations = super().get_translations()
        if locale is not None:  # None: no app context, no ``g`` to keep it in
            g._catalogue = (locale, translations)
        return translations


class RequestBabel(Babel):
    @cached_property
    def domain_instance(self):
        return _RequestDomain(domain=self.domain)
