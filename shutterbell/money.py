"""Amounts as people type and read them: "1.234,50" in German, "1,234.50" in English, a plain
"48.90" in any locale. Money is ``Decimal``, never float; amounts are rounded half up to the cent
(commercial rounding, as invoices in the studios' countries use it)."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel.numbers import NumberFormatError, format_currency, format_decimal, parse_decimal

CENT = Decimal("0.01")


def parse(value, locale: str) -> Decimal | None:
    """A number typed in the studio's locale (or given by the API as a number or "48.90"); None
    when it is none. Floats go through their text: 0.1 stays 0.1."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        number = parse_decimal(value.strip(), locale=locale, strict=False)
    except (NumberFormatError, InvalidOperation, ValueError):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
    return number if number.is_finite() else None


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def typed(number: Decimal, locale: str, cents: bool = False) -> str:
    """A number as the studio would type it back into a form: "1.890,00" (a price), "2,5"."""
    return format_decimal(number, format="#,##0.00" if cents else None, locale=locale)


def shown(amount: Decimal, currency: str, locale: str) -> str:
    """'1.234,50 €' (de_DE), '€1,234.50' (en_US)."""
    return format_currency(amount, currency, locale=locale)
