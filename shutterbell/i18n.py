"""The languages the app speaks (its catalogues in ``translations/``).

Texts a studio gets as data (the recommended profiles and mail templates) are marked with
``N_`` and translated into the studio's language when the studio is made; the app's own words
with ``_``/``_l``, when a page is drawn (``app._page_language`` picks the language)."""
from __future__ import annotations

from flask import current_app

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
