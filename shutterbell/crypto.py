"""Secrets at rest (SMTP/IMAP passwords, OAuth2 tokens, SMS tokens): Fernet with a key list.

``ENCRYPTION_KEYS`` holds one or more Fernet keys separated by commas; the first encrypts, all of
them decrypt, so a key is rotated by putting a new one first and running
``flask --app app rotate-secrets``. Plain text never reaches a log, a template or an error.
"""
from __future__ import annotations

import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from . import settings


class SecretError(RuntimeError):
    """A stored secret cannot be read with the configured keys (a key was removed too early)."""


def generate_key() -> str:
    return Fernet.generate_key().decode()


def _vault() -> MultiFernet:
    return MultiFernet([Fernet(k) for k in settings.current().encryption_keys])


def seal(secrets: dict) -> str:
    """Encrypt a small dict of credentials ({"password": ...}, later OAuth2 tokens)."""
    return _vault().encrypt(json.dumps(secrets).encode()).decode()


def unseal(token: str | None) -> dict:
    if not token:
        return {}
    try:
        return json.loads(_vault().decrypt(token.encode()))
    except InvalidToken:
        raise SecretError("A stored secret cannot be decrypted with ENCRYPTION_KEYS "
                          "(was the key that encrypted it removed?).") from None


def rotate(token: str) -> str:
    """The same secret under the first (newest) key."""
    return _vault().rotate(token.encode()).decode()
