"""A synced email opened: its text fetched from the server on first open and kept, its HTML made
harmless, its attachments listed (fetched only when someone asks for one).

Only the text parts are fetched (``BODY.PEEK``: opening marks nothing as read on the server), never
the attachments. HTML mail is cleaned with nh3 (no scripts, event handlers, ``javascript:`` links,
styles or frames) and its remote images are left out until the user asks: they are trackers.
The page shows it in a sandboxed frame under a policy of its own (``FRAME_POLICY``).
"""
from __future__ import annotations

import json
import urllib.parse
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import NamedTuple

import nh3
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from . import diagnostics, inbox, mailcheck, mailsettings
from .extensions import db
from .models import MailAccount, MailCopy, MailFolder, MailItem

MAX_TEXT = 200_000  # characters of each text part kept: a newsletter is long, a book is not mail
MAX_ATTACHMENT = 25 * 1024 * 1024  # bytes (encoded): what providers let through anyway


@dataclass(frozen=True)
class Attachment:
    name: str
    size: int  # bytes on the server, encoded
    content_type: str
    section: str  # the IMAP body section, to fetch it when asked
    encoding: str  # its transfer encoding there


class Part(NamedTuple):
    """A leaf of the mail's structure: ``kind`` is "plain" or "html" for the mail's text,
    "attachment" for a file, "" for anything else."""
    kind: str
    section: str
    encoding: str
    charset: str
    name: str
    size: int
    content_type: str


class Unavailable(Exception):
    """The server could not be reached, or the mail is no longer there."""


def open_item(item: MailItem, account: MailAccount) -> MailItem:
    """The item with its text and attachment list, fetched the first time (then kept)."""
    if item.body_text is not None:
        return item
    with _on_server(item, account) as (client, uid):
        structure = client.fetch([uid], ["BODYSTRUCTURE"]).get(uid, {}).get(b"BODYSTRUCTURE")
        if structure is None:
            raise Unavailable(_l("the mail is no longer in this folder"))
        parts = list(_parts(structure))
        texts = {p.kind: p for p in reversed(parts) if p.kind in ("plain", "html")}  # the first of each kind
        wanted = list(texts.values())
        fetched = client.fetch([uid], [f"BODY.PEEK[{p.section}]" for p in wanted]).get(uid, {}) if wanted else {}
    decoded = {kind: inbox.decode(fetched.get(f"BODY[{p.section}]".encode(), b"") or b"", p.encoding, p.charset)[:MAX_TEXT]
               for kind, p in texts.items()}
    item.body_text = decoded.get("plain", "")
    item.body_html = decoded.get("html", "")
    item.attachments = json.dumps([asdict(Attachment(p.name, p.size, p.content_type, p.section, p.encoding))
                                   for p in parts if p.kind == "attachment"])
    db.session.commit()
    return item


def attachments_of(item: MailItem) -> list[Attachment]:
    return [Attachment(**entry) for entry in json.loads(item.attachments or "[]")]


def attachment(item: MailItem, account: MailAccount, index: int) -> tuple[Attachment, bytes]:
    """One attachment, fetched from the server now: files are not stored here."""
    listed = attachments_of(item)
    if not 0 <= index < len(listed) or listed[index].size > MAX_ATTACHMENT:
        raise Unavailable(_l("no such attachment, or too large to open here"))
    wanted = listed[index]
    with _on_server(item, account) as (client, uid):
        row = client.fetch([uid], [f"BODY.PEEK[{wanted.section}]"]).get(uid, {})
    return wanted, inbox.transfer_decoded(row.get(f"BODY[{wanted.section}]".encode(), b"") or b"", wanted.encoding)


def copies_of(item: MailItem) -> list:
    """Where the item lies on the server, oldest copy first: rows of (uid, name, uidvalidity)."""
    return db.session.execute(sa.select(MailCopy.uid, MailFolder.name, MailFolder.uidvalidity)
                              .join(MailFolder, MailCopy.folder_id == MailFolder.id)
                              .where(MailCopy.item_id == item.id).order_by(MailCopy.id)).all()


@contextmanager
def connected(account: MailAccount):
    """A connection to the studio's inbox for a user's request; any failure is ``Unavailable``."""
    try:
        client = mailcheck.open_imap(mailsettings.imap_settings(account), 20.0, mailsettings.tls_context(),
                                     allow_private=mailsettings.private_hosts_allowed())
    except diagnostics.DeliveryFailure as failure:
        raise Unavailable(str(failure.diagnosis.hint)) from None
    try:
        yield client
    except Unavailable:
        raise
    except Exception as exc:  # IMAPClient raises imaplib's errors, socket and TLS errors alike
        raise Unavailable(str(exc)[:200]) from None
    finally:
        mailcheck.close_imap(client)


def select(client, copy, readonly: bool = True) -> None:
    """Open the copy's folder. One the server renumbered since the last sync holds other mail
    under that UID: nothing is read or changed there."""
    status = client.select_folder(copy.name, readonly=readonly)
    if int(status.get(b"UIDVALIDITY", 0)) != copy.uidvalidity:
        raise Unavailable(_l("the folder changed on the server since the last sync; try again after the next one"))


@contextmanager
def _on_server(item: MailItem, account: MailAccount):
    """A read-only connection to the folder of the item's first copy: (client, uid)."""
    copies = copies_of(item)
    if not copies:
        raise Unavailable(_l("no copy of this mail on the server"))
    with connected(account) as client:
        select(client, copies[0])
        yield client, copies[0].uid


def _parts(structure, number: str = ""):
    """Each leaf part of the structure, in order."""
    if structure.is_multipart:
        for i, child in enumerate(structure[0], start=1):
            yield from _parts(child, f"{number}.{i}" if number else str(i))
        return
    section = number or "1"
    kind, subtype = inbox.text_of(structure[0]).lower(), inbox.text_of(structure[1]).lower()
    params = _pairs(structure[2])
    # The disposition follows the type's own fields: text has a line count, a message its envelope too.
    at = {"text": 9, "message": 11}.get(kind, 8)
    disposition = structure[at] if len(structure) > at and isinstance(structure[at], tuple) else None
    name = _file_name(params, "name")
    if disposition:
        name = _file_name(_pairs(disposition[1]), "filename") or name
    attached = bool(name) or (disposition and inbox.text_of(disposition[0]).lower() == "attachment")
    size = int(structure[6] or 0) if len(structure) > 6 and str(structure[6]).isdigit() else 0
    content_type = f"{kind}/{subtype}"
    if kind == "text" and subtype in ("plain", "html") and not attached:
        yield Part(subtype, section, inbox.text_of(structure[5]).lower(), params.get("charset", "utf-8"), "", size,
                   content_type)
    elif attached:
        yield Part("attachment", section, inbox.text_of(structure[5]).lower(), "",
                   inbox.words(name)[:200] or content_type, size, content_type)
    else:
        yield Part("", section, "", "", "", size, content_type)


def _file_name(params: dict[str, str], key: str) -> str:
    """``filename``, or RFC 2231's ``filename*=utf-8''Preisliste%20M%C3%A4rz.pdf``; on one line."""
    name = params.get(key, "")
    extended = params.get(f"{key}*", "")
    if extended and not name:
        charset, _, rest = extended.partition("'")
        name = urllib.parse.unquote(rest.partition("'")[2], encoding=charset or "utf-8", errors="replace")
    return "".join(c for c in name if c.isprintable())


def _pairs(values) -> dict[str, str]:
    values = values or ()
    return {inbox.text_of(k).lower(): inbox.text_of(v) for k, v in zip(values[::2], values[1::2])}


def cleaned_html(html: str, show_images: bool) -> tuple[str, int]:
    """The mail's HTML made harmless, and how many remote images were left out."""
    blocked = 0

    def keep(element: str, attribute: str, value: str) -> str | None:
        nonlocal blocked
        if element == "img" and attribute == "src":
            remote = value.lower().startswith(("http://", "https://"))
            if not remote:
                return None  # a relative address would point at this app
            if not show_images:
                blocked += 1
                return None
        return value

    cleaned = nh3.clean(html, attribute_filter=keep, url_schemes={"http", "https", "mailto"},
                        link_rel="noopener noreferrer nofollow", set_tag_attribute_values={"a": {"target": "_blank"}})
    return cleaned, blocked


def frame_policy(show_images: bool) -> str:
    """The sandboxed frame's own Content-Security-Policy: nothing runs, nothing loads but the
    images the user asked for, and it opens links only in a new tab."""
    images = "https: http:" if show_images else "'none'"
    return (f"default-src 'none'; img-src {images}; style-src 'self'; frame-ancestors 'self'; "
            "sandbox allow-popups allow-popups-to-escape-sandbox")
