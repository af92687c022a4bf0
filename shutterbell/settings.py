"""The instance settings the domain reads, built once from the configuration by ``create_app``
(for the web app, the worker, the cron process and the CLI alike) and reached one way:
``settings.current()``. No other module reads ``current_app.config`` or the environment; a test
that needs another value replaces the object (``tests/conftest.py``'s ``configure``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app

KEY = "shutterbell.settings"


@dataclass(frozen=True)
class Policy:
    """The outbox's timings (seconds in tests, minutes in production)."""

    base_url: str
    grace: timedelta = timedelta(hours=24)  # later than this after its moment: skipped, not sent
    lease: timedelta = timedelta(minutes=10)  # a claimed message not finished by then is sent again
    reenqueue_after: timedelta = timedelta(minutes=5)  # queued this long with no worker: enqueue again
    batch_size: int = 200  # messages per RQ job, sent over one SMTP connection
    max_attempts: int = 8
    max_unexpected_attempts: int = 3  # an error we do not understand rarely goes away by itself
    first_retry: timedelta = timedelta(minutes=1)  # doubles per attempt, up to max_retry
    max_retry: timedelta = timedelta(hours=1)


@dataclass(frozen=True)
class OAuthClient:
    """This instance's app registration with a mail provider (``oauth``)."""

    client_id: str
    client_secret: str = field(repr=False)
    authorize_url: str
    token_url: str


@dataclass(frozen=True)
class Settings:
    secret_key: str = field(repr=False)
    encryption_keys: tuple[str, ...] = field(repr=False)  # the first seals, all of them open
    outbox: Policy
    sms_gateway: str  # a key of channels.sms.GATEWAYS
    sms_api_url: str
    mail_private_hosts: str  # "auto", "allow" or "forbid" (mailsettings.private_hosts_allowed)
    mail_ca_file: str
    instance_mail: bool  # the instance has a mail server of its own (MAIL_SERVER)
    oauth_clients: dict = field(default_factory=dict)  # provider name -> OAuthClient, where registered

    @classmethod
    def from_config(cls, config) -> Settings:
        base_url = config["BASE_URL"]
        return cls(
            secret_key=config["SECRET_KEY"],
            encryption_keys=tuple(k.strip() for k in config["ENCRYPTION_KEYS"].split(",") if k.strip()),
            outbox=Policy(base_url=base_url, grace=timedelta(seconds=config["OUTBOX_GRACE_SECONDS"]),
                          lease=timedelta(seconds=config["OUTBOX_LEASE_SECONDS"]),
                          reenqueue_after=timedelta(seconds=config["OUTBOX_REENQUEUE_SECONDS"])),
            sms_gateway=config["SMS_BACKEND"], sms_api_url=config["SMS_API_URL"],
            mail_private_hosts=config["MAIL_PRIVATE_HOSTS"], mail_ca_file=config.get("MAIL_CA_FILE") or "",
            instance_mail=not config.get("MAIL_SUPPRESS_SEND"), oauth_clients=_oauth_clients(config))

    @property
    def base_url(self) -> str:
        """Where customers reach the app (``BASE_URL``): every link in a message starts here."""
        return self.outbox.base_url


def _oauth_clients(config) -> dict:
    tenant = config.get("OAUTH_MICROSOFT_TENANT") or "common"
    endpoints = {"microsoft": (f"https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize",
                               f"https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"),
                 "google": ("https://accounts.google.com/o/oauth2/v2/auth", "https://oauth2.googleapis.com/token")}
    clients = {}
    for name, (authorize_url, token_url) in endpoints.items():
        client_id, secret = config.get(f"OAUTH_{name.upper()}_CLIENT_ID"), config.get(f"OAUTH_{name.upper()}_CLIENT_SECRET")
        if client_id and secret:
            clients[name] = OAuthClient(client_id, secret, authorize_url, token_url)
    return clients


def init_app(app) -> None:
    app.extensions[KEY] = Settings.from_config(app.config)


def current() -> Settings:
    return of(current_app)


def of(app) -> Settings:
    return app.extensions[KEY]
