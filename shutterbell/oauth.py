"""Sign in to a studio's mailbox with its provider (Microsoft 365, Google) instead of a password:
the authorization-code flow with PKCE (``authlib``), the grant sealed like any other secret, and
access tokens refreshed shortly before they expire by whichever process needs one (the worker,
Test connection), one process at a time, always keeping the refresh token the provider rotated.

The grant lives in the account's sealed credentials: ``{"oauth": {"provider", "refresh_token",
"access_token", "expires_at"}}``. SMTP signs in with it by XOAUTH2 (``mailcheck.login``)."""
from __future__ import annotations

import time
from dataclasses import dataclass

import requests
import sqlalchemy as sa
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from flask_babel import lazy_gettext as _l

from . import crypto, diagnostics, settings
from .extensions import db
from .models import MailAccount

REFRESH_BEFORE = 300  # seconds before expiry: a token is refreshed, never used to its last second
TIMEOUT = 4.0  # a token request: within Test connection's 10 s, and shorter than SQLite's busy wait (the row is locked)


@dataclass(frozen=True)
class Provider:
    label: str
    scope: str
    smtp: tuple[str, int, str]  # host, port, security: where the grant signs in
    imap: tuple[str, int, str]
    extra: tuple[tuple[str, str], ...] = ()  # authorization parameters the provider needs for a refresh token


PROVIDERS = {
    "microsoft": Provider(_l("Microsoft"), "https://outlook.office.com/SMTP.Send "
                          "https://outlook.office.com/IMAP.AccessAsUser.All offline_access",
                          ("smtp.office365.com", 587, "starttls"), ("outlook.office365.com", 993, "ssl")),
    "google": Provider(_l("Google"), "https://mail.google.com/", ("smtp.gmail.com", 465, "ssl"),
                       ("imap.gmail.com", 993, "ssl"), (("access_type", "offline"), ("prompt", "consent"))),
}


class GrantFailed(Exception):
    """The provider would not give a token: ``diagnosis`` says why (a revoked grant, or the
    provider out of reach)."""

    def __init__(self, diagnosis: diagnostics.Diagnosis):
        super().__init__(diagnosis.detail)
        self.diagnosis = diagnosis


def configured() -> dict[str, Provider]:
    """The providers this instance has a registered app with (its client id and secret)."""
    clients = settings.current().oauth_clients
    return {name: provider for name, provider in PROVIDERS.items() if name in clients}


def start(provider: str, redirect_uri: str) -> tuple[str, str, str]:
    """Where to send the owner to sign in: (url, state, code_verifier). The caller keeps state and
    verifier in the owner's session and hands them to ``finish``."""
    client = settings.current().oauth_clients[provider]
    verifier = generate_token(64)
    session = _session(provider, redirect_uri=redirect_uri, code_challenge_method="S256")
    url, state = session.create_authorization_url(client.authorize_url, code_verifier=verifier,
                                                  **dict(PROVIDERS[provider].extra))
    return url, state, verifier


def finish(provider: str, redirect_uri: str, code: str, verifier: str, now: float | None = None) -> dict:
    """Trade the code for the grant (the sealed credentials' ``oauth`` part)."""
    client = settings.current().oauth_clients[provider]
    session = _session(provider, redirect_uri=redirect_uri)
    token = _token_call(lambda: session.fetch_token(client.token_url, code=code, code_verifier=verifier))
    return _token_call(lambda: _grant(provider, token, None, now))


def access_token(account: MailAccount, service: str = "smtp", now: float | None = None) -> str:
    """A token good for the next minutes. One process refreshes at a time: the account's row is
    locked first (an UPDATE, which SQLite and PostgreSQL both hold to the commit), and the grant
    read again, so a second process finds the token the first one stored. Commits."""
    now = time.time() if now is None else now
    grant = _grant_of(account, service)
    if grant["expires_at"] - now > REFRESH_BEFORE:
        return grant["access_token"]
    db.session.execute(sa.update(MailAccount).where(MailAccount.id == account.id)
                       .values(updated_at=MailAccount.updated_at))
    db.session.refresh(account)
    grant = _grant_of(account, service)
    if grant["expires_at"] - now <= REFRESH_BEFORE:
        grant = _refreshed(grant, now)
        setattr(account, f"{service}_credentials", crypto.seal({"oauth": grant}))
    db.session.commit()
    return grant["access_token"]


def grant_of(account: MailAccount, service: str) -> dict | None:
    """The account's grant for ``service``, or None when it signs in with a password."""
    sealed = getattr(account, f"{service}_credentials")
    return crypto.unseal(sealed).get("oauth") if sealed else None


def _grant_of(account: MailAccount, service: str) -> dict:
    grant = grant_of(account, service)
    if grant is None:  # the owner saved a password meanwhile: this sign-in is over
        raise GrantFailed(_diagnosis("temporary_server_error", "The sign-in changed meanwhile."))
    return grant


def _refreshed(grant: dict, now: float) -> dict:
    client = settings.current().oauth_clients.get(grant["provider"])
    if client is None:  # the instance's app registration was removed: nobody can refresh
        raise GrantFailed(_diagnosis("oauth_grant_revoked", f"{grant['provider']}: no client configured"))
    session = _session(grant["provider"])
    token = _token_call(lambda: session.refresh_token(client.token_url, refresh_token=grant["refresh_token"]))
    return _token_call(lambda: _grant(grant["provider"], token, grant["refresh_token"], now))


def _grant(provider: str, token: dict, old_refresh_token: str | None, now: float | None) -> dict:
    """Keep the refresh token the provider rotated; a provider that sends none keeps the old one."""
    now = time.time() if now is None else now
    refresh_token = token.get("refresh_token") or old_refresh_token
    if not refresh_token:
        raise GrantFailed(_diagnosis("oauth_grant_revoked", "The provider gave no refresh token."))
    return {"provider": provider, "refresh_token": refresh_token, "access_token": token["access_token"],
            "expires_at": now + float(token.get("expires_in", 3600))}


def _token_call(call):
    """Run a token request; what goes wrong becomes a diagnosis (never with a token in it)."""
    try:
        return call()
    except OAuthError as error:
        key = {"invalid_grant": "oauth_grant_revoked", "unauthorized_client": "oauth_client_invalid",
               "invalid_client": "oauth_client_invalid"}.get(error.error, "temporary_server_error")
        raise GrantFailed(_diagnosis(key, f"{error.error}: {error.description or ''}".strip())) from None
    except (requests.ConnectionError, requests.Timeout) as error:  # the provider is out of reach: the rest waits too
        raise GrantFailed(_diagnosis("timeout", f"token endpoint: {type(error).__name__}")) from None
    except (requests.RequestException, ValueError, KeyError) as error:
        raise GrantFailed(_diagnosis("temporary_server_error", f"token endpoint: {type(error).__name__}")) from None


def _diagnosis(key: str, detail: str) -> diagnostics.Diagnosis:
    return diagnostics.Diagnosis(diagnostics.CAUSES[key], detail[:500], "smtp")


def _session(provider: str, **kwargs) -> OAuth2Session:
    client = settings.current().oauth_clients[provider]
    return OAuth2Session(client.client_id, client.client_secret, scope=PROVIDERS[provider].scope,
                         default_timeout=TIMEOUT, **kwargs)
