"""Email addresses and phone numbers as the studio stores and matches them."""
from __future__ import annotations

import phonenumbers
from email_validator import EmailNotValidError, validate_email


def normalise_email(email: str) -> str:
    """Syntax only (no DNS: sign-ups must not wait on the network); lower-cased for matching."""
    return validate_email(email.strip(), check_deliverability=False).normalized.lower()


def sendable_email(email: str) -> str:
    """An address every mail server takes as a sender: a domain with umlauts in its ASCII form
    (info@xn--mller-kva.de), as mail programs send it. Letters such as ü before the @ need
    SMTPUTF8, which submission servers rarely offer: ValueError."""
    try:
        return validate_email(email.strip(), check_deliverability=False, allow_smtputf8=False).ascii_email
    except EmailNotValidError as error:
        raise ValueError(str(error)) from None


def as_stored(address: str) -> str:
    """An address from the wire (a bounce, a synced mail) as the studio stores it: lower-cased, a
    domain sent in its ASCII form (joerg@xn--mller-kva.example) read back with its umlauts."""
    address = address.strip().lower()
    if "xn--" not in address:
        return address
    try:
        return normalise_email(address)
    except EmailNotValidError:
        return address


def on_the_wire(email: str) -> str:
    """An address as SMTP carries it without SMTPUTF8: a domain with umlauts in its ASCII form;
    unchanged where that cannot be (letters such as ü before the @: no mail server here takes them)."""
    if email.isascii():
        return email
    try:
        return sendable_email(email)
    except ValueError:
        return email


def normalise_phone(phone: str, region: str) -> str | None:
    """E.164 (+4915112345678), or None for an empty field. Raises ValueError when invalid."""
    if not phone.strip():
        return None
    try:
        number = phonenumbers.parse(phone, region)
    except phonenumbers.NumberParseException:
        raise ValueError(phone) from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(phone)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
