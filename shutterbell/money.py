"""Amounts as people type and read them: "1.234,50" in German, "1,234.50" in English, a plain
"48.90" in any locale. Money is ``Decimal``, never float; amounts are rounded half up to the cent
(commercial rounding, as invoices in the studios' countries use it)."""
from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel.numbers import NumberFormatError, format_currency, format_decimal, get_group_symbol, parse_decimal

CENT = Decimal("0.01")
LARGEST = Decimal("1000000000000")
PLAIN = re.compile(r"-?\d+(\.\d+)?")


def parse(value, locale: str) -> Decimal | None:
    """A number typed in the studio's locale, or a number the API was given (never read in a
    locale: "1890.00" is 189000 to a German parser); None when it is none. A float goes through
    its text: 0.1 stays 0.1."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        return _sane(Decimal(str(value)))
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    group = get_group_symbol(locale)
    if group.isspace():  # French and Polish group with a narrow no-break space; people type a space
        text = re.sub(r"(?<=\d)[ \u00a0\u202f](?=\d{3})", group, text)
    try:  # strict: "48.90" in German is not 4890 (it is read as the plain number below)
        number = parse_decimal(text, locale=locale, strict=True)
    except (NumberFormatError, InvalidOperation, ValueError):
        if not PLAIN.fullmatch(text):  # not "1e30", "1_000" or "NaN"
            return None
        number = Decimal(text)
    return _sane(number)


def _sane(number: Decimal) -> Decimal | None:
    """A number a studio could mean: finite, below a trillion, at most six decimals (a huge
    exponent would overflow the database, or a rounding, before any check said so)."""
    if not number.is_finite() or abs(number) >= LARGEST or number != number.quantize(Decimal("0.000001")):
        return None
    return number


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def typed(number: Decimal, locale: str, cents: bool = False) -> str:
    """A number as the studio would type it back into a form: "1.890,00" (a price), "2,5"."""
    return format_decimal(number, format="#,##0.00" if cents else None, locale=locale)


def shown(amount: Decimal, currency: str, locale: str) -> str:
    """'1.234,50 €' (de_DE), '€1,234.50' (en_US)."""
    return format_currency(amount, currency, locale=locale)
