"""Bootstrap configuration from the environment (and an optional ``.env``).

Only what a process needs to start lives here: database, Redis, secret key, instance mail.
Studio settings live in the database and are edited in the app.
"""
from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path


class ConfigError(RuntimeError):
    pass


def load(instance_path: str, env: dict[str, str] | None = None) -> dict:
    env = dict(os.environ if env is None else env)
    instance = Path(instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    make_private(instance)  # the SQLite file, the keys and the Redis socket live here
    database_url = _database_url(env.get("DATABASE_URL"), instance)
    embedded = database_url.startswith("sqlite")
    return {
        "SECRET_KEY": _secret_key(env, instance, embedded),
        "ENCRYPTION_KEYS": _encryption_keys(env, instance, embedded),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": env.get("REDIS_URL") or f"unix://{instance / 'redis.sock'}",
        "QUEUE_NAME": env.get("QUEUE_NAME", "shutterbell"),
        "RATELIMIT_SWALLOW_ERRORS": False,  # a limiter that cannot count refuses (503), never lets all through
        "RATELIMIT_HEADERS_ENABLED": False,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _flag(env.get("SESSION_COOKIE_SECURE", "0")),
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SECURE": _flag(env.get("SESSION_COOKIE_SECURE", "0")),  # behind HTTPS, both
        # "Keep me signed in" lasts this long (Flask-Login's default is a year).
        "REMEMBER_COOKIE_DURATION": timedelta(days=int(env.get("REMEMBER_COOKIE_DAYS", "30"))),
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": 11 * 1024 * 1024,  # a 10 MB CSV and its form; everything else is far smaller  # a tablet left open overnight must still save its form
        "MAIL_SERVER": env.get("MAIL_SERVER", "localhost"),
        "MAIL_PORT": int(env.get("MAIL_PORT", "25")),
        "MAIL_USE_TLS": _flag(env.get("MAIL_USE_TLS", "0")),
        "MAIL_USERNAME": env.get("MAIL_USERNAME"),
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD"),
        "MAIL_DEFAULT_SENDER": env.get("MAIL_DEFAULT_SENDER", "shutterbell@localhost"),
        # Links in messages (unsubscribe, confirmation) point here: the address customers reach the
        # app at. One setting for every process (./run sets it to the address it prints); never
        # PORT, which honcho sets to another number in each process.
        "BASE_URL": (env.get("BASE_URL") or "http://127.0.0.1:5000").rstrip("/"),
        # The outbox: how late a message may still go out, how long a worker holds a claimed one,
        # and when a message handed to a worker that never took it is handed over again.
        "OUTBOX_GRACE_SECONDS": int(env.get("OUTBOX_GRACE_SECONDS", 24 * 3600)),
        "OUTBOX_LEASE_SECONDS": int(env.get("OUTBOX_LEASE_SECONDS", 600)),
        "OUTBOX_REENQUEUE_SECONDS": int(env.get("OUTBOX_REENQUEUE_SECONDS", 300)),
        # May studios' mail servers be private or loopback addresses? "auto": while the instance
        # holds one studio (self-hosted); "forbid" for instances that host other people's studios.
        "MAIL_PRIVATE_HOSTS": _choice(env.get("MAIL_PRIVATE_HOSTS", "auto"), ("auto", "allow", "forbid"),
                                      "MAIL_PRIVATE_HOSTS"),
        # Extra CA certificates to trust for studios' mail servers (a private CA on the LAN).
        "MAIL_CA_FILE": env.get("MAIL_CA_FILE", ""),
        # Text messages: the gateway, "twilio" (any Twilio-compatible REST API at SMS_API_URL) or "log"
        # (development: texts are written to the worker's log, nothing is sent).
        "SMS_BACKEND": env.get("SMS_BACKEND", "twilio"),  # checked by create_app against channels.sms.GATEWAYS
        "SMS_API_URL": env.get("SMS_API_URL", "https://api.twilio.com").rstrip("/"),
        # Sign in with Microsoft / Google for studios' mailboxes: this instance's app registration
        # with each provider (README: "Sign in with Microsoft or Google"); unset, the button is hidden.
        **{f"OAUTH_{provider}_{part}": env.get(f"OAUTH_{provider}_{part}", "")
           for provider in ("MICROSOFT", "GOOGLE") for part in ("CLIENT_ID", "CLIENT_SECRET")},
        "OAUTH_MICROSOFT_TENANT": env.get("OAUTH_MICROSOFT_TENANT", "common"),
        "MAIL_SUPPRESS_SEND": not env.get("MAIL_SERVER"),  # no instance mail server: show links instead
        "BABEL_DEFAULT_LOCALE": "en",
        # How many reverse proxies (nginx) set X-Forwarded-*; 0 trusts none.
        "TRUSTED_PROXIES": int(env.get("TRUSTED_PROXIES", "0")),
    }


def make_private(path: Path) -> None:
    """Only the owner may read it (0700 for a folder, 0600 for a file): leaves alone what belongs
    to another user, whose administrator chose its mode."""
    try:
        status = path.stat()
    except FileNotFoundError:
        return
    if status.st_uid == os.geteuid() and status.st_mode & 0o077:
        path.chmod(0o700 if path.is_dir() else 0o600)


def limits_storage(redis_url: str) -> str:
    """Flask-Limiter's name for the same Redis: ``redis+unix://`` for the embedded one's socket."""
    return "redis+unix://" + redis_url[len("unix://"):] if redis_url.startswith("unix://") else redis_url


def _database_url(url: str | None, instance: Path) -> str:
    if not url:
        return f"sqlite:///{instance / 'shutterbell.db'}"
    # psycopg 3 is the driver we ship; accept the URLs people paste from their hosting panel.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _secret_key(env: dict[str, str], instance: Path, embedded: bool) -> str:
    if env.get("SECRET_KEY"):
        return env["SECRET_KEY"]
    if not embedded:
        # Several web and worker machines must share one key: a generated file would differ.
        raise ConfigError("SECRET_KEY must be set when DATABASE_URL points at a shared database.")
    key_file = instance / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(48))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def _encryption_keys(env: dict[str, str], instance: Path, embedded: bool) -> str:
    """Fernet keys for stored mail passwords. Workers on other machines must decrypt what the web
    app stored, so a shared database needs the keys from the environment, never a generated file."""
    from cryptography.fernet import Fernet

    if env.get("ENCRYPTION_KEYS"):
        keys = env["ENCRYPTION_KEYS"]
        try:
            for key in keys.split(","):
                Fernet(key.strip())
        except ValueError:
            raise ConfigError("ENCRYPTION_KEYS must be Fernet keys separated by commas "
                              "(make one with: flask --app app generate-key).") from None
        return keys
    if not embedded:
        raise ConfigError("ENCRYPTION_KEYS must be set when DATABASE_URL points at a shared database "
                          "(make one with: flask --app app generate-key).")
    key_file = instance / "encryption_key"
    if not key_file.exists():
        key_file.write_text(Fernet.generate_key().decode())
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def _choice(value: str, allowed: tuple[str, ...], name: str) -> str:
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}; got {value!r}.")
    return value


def _flag(value: str) -> bool:
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"Expected a yes/no value, got {value!r}.")
