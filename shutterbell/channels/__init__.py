"""Channels: the ways a message reaches a customer (email, text message). Each is one module of
this package with one surface, ``Channel``; ``_MODULES`` lists them. Models (the CHECK on every
``channel`` column), the profile form, templates (the ``channel_label`` filter), the scheduler
pass, the dispatcher, the timeline and the worker read this registry instead of naming channels.
Still named elsewhere, as what they are about is one channel's: consent on the sign-up and
customer forms, the email-only unsubscribe link and bounces, the dry run's and the profile list's
counts of emails and texts, and the editor's subject field. See CONTRIBUTING.md, "Add a channel".

Channel modules are imported when first asked for, so that models can read ``KEYS`` while the
channel modules import models.
"""
from __future__ import annotations

import functools
import importlib
from datetime import datetime
from typing import ClassVar, Protocol

import sqlalchemy as sa

_MODULES = {"email": "email", "sms": "sms"}  # key: module of this package; forms offer them in this order
KEYS = tuple(_MODULES)


def check_constraint() -> str:
    """The SQL every ``channel`` column is checked with."""
    return "channel in ({})".format(", ".join(f"'{key}'" for key in KEYS))


@functools.cache
def get(key: str) -> Channel:
    return importlib.import_module(f"{__name__}.{_MODULES[key]}").CHANNEL


def every() -> list[Channel]:
    return [get(key) for key in KEYS]


class Session(Protocol):
    """One studio's messages of a batch over one connection to the channel's server."""

    broken: bool  # the server cannot be reached: the rest of the batch waits

    def __enter__(self) -> Session: ...

    def __exit__(self, *exc) -> None: ...

    def send(self, message, unsubscribe: str, studio_name: str, now: datetime) -> None:
        """Deliver one written message; raises ``diagnostics.DeliveryFailure`` with its phase."""

    def pause(self, diagnosis, now: datetime) -> None:
        """The account failed (a password, a token): the studio's sending on this channel stops
        until a test or a save of its settings succeeds."""

    def close(self) -> None: ...


class Channel:
    """What the rest of the app knows of a channel. Subclasses fill in every name."""

    key: ClassVar[str]
    label: ClassVar[str]  # a badge: "Email", "SMS"
    name: ClassVar[str]  # a choice in a form: "Email", "Text message"
    consent_label: ClassVar[str]  # what a customer agrees to receive: "Emails", "Text messages"
    text_format: ClassVar[str]  # templating's format: "email" (subject, HTML part) or "text"
    max_body: ClassVar[int]  # characters a studio may write
    # A message due while its studio has no account on this channel: made as skipped with this
    # reason (a text would be stale by the time one exists), or None: it waits for the account.
    no_account_reason: ClassVar[str | None] = None

    def address(self, customer) -> str | None:
        raise NotImplementedError

    def address_column(self) -> sa.ColumnElement:
        """The customer's column holding the address, for the scheduler pass's SQL."""
        raise NotImplementedError

    def studios_with_account(self) -> sa.Select:
        """Studio ids with an account on this channel (working or not)."""
        raise NotImplementedError

    def studios_ready(self, now: datetime) -> sa.Select | list[int]:
        """Studio ids whose messages on this channel may be handed to a worker now."""
        raise NotImplementedError

    def limits(self, studio_ids: set[int]) -> dict[int, tuple[int | None, int | None]]:
        """Sending limits (per minute, per rolling day) of the studios that have any."""
        return {}

    def open_session(self, studio, now: datetime) -> Session | None:
        """A session for the studio's messages, or None when none may go now (they are held)."""
        raise NotImplementedError
