"""Inbox sync: the studio's mailbox, read into the store the contact pages show.

The configured folders are read, and the server's Sent folder with them (found by its SPECIAL-USE
flag, or by the names providers give it). Per folder, incremental by UIDVALIDITY + UID: only UIDs
above the folder's watermark are fetched, and the watermark moves only after a batch is committed,
so an interrupted sync resumes where it stopped and none is skipped. A renumbered folder
(UIDVALIDITY changed) loses its copies and is read again; items are one per Message-ID, so nothing
doubles. What changed in the studio's own mail client shows too: mail deleted there goes (moved
mail keeps its item: the new folder's copy joins it before the old item would go), and read/unread
flags are fetched again (only those changed since the last sync, where the server offers
CONDSTORE). The server does the work: the
envelope, flags and a peek at the first text part (``BODY.PEEK``: reading marks nothing as read),
never whole messages. Mail is tied to contacts when it is read, by its parties' addresses.
Delivery reports among the new mail are not stored as mail: they go to ``bounces``, which marks
the bounced messages, the same pass that finds them.
"""
from __future__ import annotations

import base64
import binascii
import email.errors
import email.header
import logging
import quopri
import re
from dataclasses import dataclass
from datetime import datetime, timezone

import sqlalchemy as sa

from . import bounces, composer, diagnostics, mailcheck, mailsettings, suppression
from .extensions import db
from .models import ContactAddress, MailAccount, MailCopy, MailFolder, MailItem, MailParty

log = logging.getLogger(__name__)

BATCH = 200  # UIDs fetched, stored and committed at a time
CHUNK = 500  # UIDs per statement when comparing with the server (bind-parameter limits)
SNIPPET_BYTES = 2048  # of the first text part
SNIPPET = 200  # characters kept
# Failures that only the owner can fix: the sync waits for a passing test instead of signing in
# with a wrong password every two minutes (providers lock accounts that do).
OWNER_MUST_FIX = ("wrong_password", "app_password_required", "auth_method_disabled",
                  "account_locked_or_web_login_required", "imap_disabled", "private_address")


def accounts_to_sync() -> list[MailAccount]:
    """Studios with an inbox, except where the owner must fix the sign-in first."""
    return list(db.session.scalars(sa.select(MailAccount).where(
        MailAccount.imap_host != "",
        sa.or_(MailAccount.imap_failing_since.is_(None), MailAccount.imap_failure_cause.not_in(OWNER_MUST_FIX)))))


def sync(account: MailAccount, now: datetime, timeout: float = 30.0) -> int:
    """Read what is new in the account's folders; returns how many items were stored (after a
    failure, those of the folders read to the end; the batches committed stay). A failure
    to reach the inbox shows the "Inbox sync" banner (with its hint) until a sync or test works."""
    settings = mailsettings.imap_settings(account)
    try:
        client = mailcheck.open_imap(settings, timeout, mailsettings.tls_context(),
                                     allow_private=mailsettings.private_hosts_allowed())
    except diagnostics.DeliveryFailure as failure:
        mailsettings.record_failure(account, "imap", failure.diagnosis, now)
        db.session.commit()
        return 0
    stored = 0
    try:
        own = account.from_address.lower()
        condstore = _enable_condstore(client)
        for name in folders_to_sync(client, settings.folders):
            stored += _sync_folder(client, _folder(account.studio_id, name), own, now, condstore)
        _drop_orphans(account.studio_id)
        db.session.commit()
    except Exception as exc:  # IMAPClient raises imaplib's errors, socket and TLS errors alike
        db.session.rollback()
        mailsettings.record_failure(account, "imap", diagnostics.classify_exception(exc, "imap", "sync",
                                                                                    settings.host), now)
        db.session.commit()
        return stored
    finally:
        mailcheck.close_imap(client)
    if account.imap_failing_since is not None:
        mailsettings.record_success(account, "imap", now)
        db.session.commit()
    return stored


def folders_to_sync(client, configured: tuple[str, ...] | list[str]) -> list[str]:
    """The configured folders, and the Sent folder: the studio's answers belong on the contact pages."""
    sent = mailcheck.special_folder(client.list_folders(), b"\\Sent")
    return list(dict.fromkeys([*configured, *([sent] if sent else [])]))


def _enable_condstore(client) -> bool:
    """RFC 7162: the server then tells each folder's highest MODSEQ and which flags changed since."""
    if not client.has_capability("CONDSTORE"):
        return False
    try:
        return b"CONDSTORE" in [c.upper() for c in client.enable("CONDSTORE")]
    except Exception:  # ENABLE missing or refused: read all flags instead
        return False


def _folder(studio_id: int, name: str) -> MailFolder:
    folder = db.session.scalar(sa.select(MailFolder).where(MailFolder.studio_id == studio_id, MailFolder.name == name))
    if folder is None:
        folder = MailFolder(studio_id=studio_id, name=name, last_uid=0)
        db.session.add(folder)
        db.session.commit()
    return folder


def _sync_folder(client, folder: MailFolder, own_address: str, now: datetime, condstore: bool = False) -> int:
    status = client.select_folder(folder.name, readonly=True)
    validity = int(status[b"UIDVALIDITY"])
    if folder.uidvalidity != validity:
        _forget_copies(folder)
        folder.uidvalidity, folder.last_uid, folder.highest_modseq = validity, 0, None
        db.session.commit()
    on_server = client.search(["ALL"])
    _drop_deleted(folder, on_server)
    modseq = int(status[b"HIGHESTMODSEQ"]) if condstore and b"HIGHESTMODSEQ" in status else None
    _refresh_flags(client, folder, modseq, [uid for uid in on_server if uid <= folder.last_uid])
    new = sorted(uid for uid in on_server if uid > folder.last_uid)
    stored = 0
    for start in range(0, len(new), BATCH):
        batch = new[start:start + BATCH]
        fetched = _fetch(client, batch)
        stored += _store(folder, [mail for mail in fetched if mail.report is None and not mail.ours], own_address)
        folder.last_uid = batch[-1]  # committed with the batch it covers, never before or after
        bounces.apply(folder.studio_id, bounces.reports_in([m.report for m in fetched if m.report is not None]), now)
        db.session.commit()
    folder.synced_at, folder.highest_modseq = now, modseq
    db.session.commit()
    return stored


def _forget_copies(folder: MailFolder) -> None:
    """The server renumbered the folder: its copies are read again (items without a copy go at
    the end of the sync, unless the folder read again gave them one)."""
    db.session.execute(sa.delete(MailCopy).where(MailCopy.folder_id == folder.id))


def _drop_deleted(folder: MailFolder, on_server: list[int]) -> None:
    """Copies whose UID the server no longer has: deleted or moved away in the studio's mail client."""
    held = set(db.session.scalars(sa.select(MailCopy.uid).where(MailCopy.folder_id == folder.id)))
    gone = sorted(held - set(on_server))
    for start in range(0, len(gone), CHUNK):
        db.session.execute(sa.delete(MailCopy).where(MailCopy.folder_id == folder.id,
                                                     MailCopy.uid.in_(gone[start:start + CHUNK])))
    if gone:
        db.session.commit()


def _refresh_flags(client, folder: MailFolder, modseq: int | None, known: list[int]) -> None:
    """Read/unread as the server has it now: with CONDSTORE only what changed since the last
    sync (nothing when the folder's MODSEQ stands still), else the flags of every stored UID."""
    if not known or (modseq is not None and modseq == folder.highest_modseq):
        return
    if modseq is not None and folder.highest_modseq is not None:
        changed = set(client.search(["MODSEQ", str(folder.highest_modseq + 1)]))
        known = [uid for uid in known if uid in changed]
    seen: dict[bool, list[int]] = {True: [], False: []}
    for start in range(0, len(known), CHUNK):
        for uid, row in client.fetch(known[start:start + CHUNK], ["FLAGS"]).items():
            seen[b"\\Seen" in row.get(b"FLAGS", ())].append(uid)
    for value, uids in seen.items():
        for start in range(0, len(uids), CHUNK):
            copies = sa.select(MailCopy.item_id).where(MailCopy.folder_id == folder.id,
                                                       MailCopy.uid.in_(uids[start:start + CHUNK]))
            db.session.execute(sa.update(MailItem).where(MailItem.id.in_(copies), MailItem.seen.is_not(value))
                               .values(seen=value))
    db.session.commit()


def _drop_orphans(studio_id: int) -> None:
    """Items with no copy left on the server (after every folder had its turn: a mail moved from
    one synced folder to another keeps its item, its kept text and its place on the contact page)."""
    orphans = sa.select(MailItem.id).where(MailItem.studio_id == studio_id,
                                           ~sa.exists().where(MailCopy.item_id == MailItem.id))
    db.session.execute(sa.delete(MailParty).where(MailParty.item_id.in_(orphans)))
    db.session.execute(sa.delete(MailItem).where(MailItem.id.in_(orphans.scalar_subquery())))


@dataclass
class Fetched:
    uid: int
    envelope: object
    flags: tuple
    references: bytes
    snippet: str
    report: bytes | None = None  # a delivery report's first bytes: for ``bounces``, not stored as mail
    ours: bool = False  # the app's own mail about accounts (an invitation, a reset link): never stored


def _fetch(client, uids: list[int]) -> list[Fetched]:
    """Envelope, flags, References and the structure; then a peek at each first text part."""
    data = client.fetch(uids, ["ENVELOPE", "FLAGS", "BODYSTRUCTURE",
                               f"BODY.PEEK[HEADER.FIELDS (REFERENCES {composer.SERVICE_HEADER})]"])
    data = {uid: row for uid, row in data.items() if b"ENVELOPE" in row}  # (unsolicited FETCH answers)
    reports = _reports(client, [uid for uid, row in data.items() if _is_report(row.get(b"BODYSTRUCTURE"))])
    parts = {uid: _first_text_part(row.get(b"BODYSTRUCTURE")) for uid, row in data.items() if uid not in reports}
    texts: dict[int, str] = {}
    by_section: dict[str, list[int]] = {}
    for uid, part in parts.items():
        if part is not None:
            by_section.setdefault(part[0], []).append(uid)
    for section, wanted in by_section.items():
        key = f"BODY[{section}]<0>".encode()
        for uid, row in client.fetch(wanted, [f"BODY.PEEK[{section}]<0.{SNIPPET_BYTES}>"]).items():
            raw = row.get(key) or next((v for k, v in row.items() if k.startswith(b"BODY[")), b"")
            texts[uid] = _decode_part(raw or b"", *parts[uid][1:])  # never raises (``decode``)
    return [Fetched(uid, row[b"ENVELOPE"], row.get(b"FLAGS", ()), _header_value(row, b"references"),
                    texts.get(uid, ""), reports.get(uid), bool(_header_value(row, composer.SERVICE_HEADER.lower().encode())))
            for uid, row in sorted(data.items())]


def _is_report(structure) -> bool:
    """multipart/report; report-type=delivery-status (RFC 3464)."""
    if structure is None or not structure.is_multipart or text_of(structure[1]).lower() != "report":
        return False
    params = structure[2] or ()
    return any(text_of(k).lower() == "report-type" and text_of(v).lower() == "delivery-status"
               for k, v in zip(params[::2], params[1::2]))


def _reports(client, uids: list[int]) -> dict[int, bytes]:
    if not uids:
        return {}
    fetched = client.fetch(uids, [f"BODY.PEEK[]<0.{bounces.REPORT_BYTES}>"])
    return {uid: next((v for k, v in row.items() if k.startswith(b"BODY[]")), b"") or b""
            for uid, row in fetched.items()}


def _header_value(row: dict, name: bytes) -> bytes:
    """One header's value from the fetched HEADER.FIELDS block ("" if absent)."""
    raw = next((v for k, v in row.items() if k.startswith(b"BODY[HEADER.FIELDS")), b"") or b""
    for line in re.split(rb"\r?\n(?![ \t])", raw):
        field, _, value = line.partition(b":")
        if field.strip().lower() == name:
            return value.strip()
    return b""


def _first_text_part(structure, number: str = "") -> tuple[str, str, str, bool] | None:
    """(section, transfer encoding, charset, is_html) of the first text/plain part, else of the
    first text/html part; None for mail without text."""
    if structure is None:
        return None
    if structure.is_multipart:
        found = [_first_text_part(child, f"{number}.{i}" if number else str(i))
                 for i, child in enumerate(structure[0], start=1)]
        found = [f for f in found if f is not None]
        return next((f for f in found if not f[3]), found[0] if found else None)
    kind, subtype = text_of(structure[0]).lower(), text_of(structure[1]).lower()
    if kind != "text" or subtype not in ("plain", "html"):
        return None
    params = structure[2] or ()
    charset = next((text_of(v) for k, v in zip(params[::2], params[1::2]) if text_of(k).lower() == "charset"), "utf-8")
    return number or "1", text_of(structure[5]).lower(), charset, subtype == "html"


def _decode_part(raw: bytes, encoding: str, charset: str, is_html: bool) -> str:
    """A snippet: the start of the text, on one line (an HTML part without its tags)."""
    text = decode(raw, encoding, charset)
    if is_html:
        text = re.sub(r"(?is)<(script|style).*?</\1>|<[^>]+>", " ", text)
    return " ".join(text.split())[:SNIPPET]


def decode(raw: bytes, encoding: str, charset: str) -> str:
    """A body part's bytes as text, by its transfer encoding and charset (a cut-off one too).
    Whatever a sender declares, this never raises: one odd mail must not stop a studio's sync."""
    return _as_text(transfer_decoded(raw, encoding), charset)


def transfer_decoded(raw: bytes, encoding: str) -> bytes:
    """Base64 (cut off mid-quantum, or with stray characters) or quoted-printable, undone."""
    if encoding == "base64":
        raw = re.sub(rb"[^A-Za-z0-9+/=]", b"", raw)
        try:
            return base64.b64decode(raw)
        except binascii.Error:  # a peek cut mid-quantum, or padding where none belongs
            raw = raw.replace(b"=", b"")
            return base64.b64decode(raw[:len(raw) // 4 * 4])
    if encoding == "quoted-printable":
        return quopri.decodestring(raw)
    return raw


def _as_text(raw: bytes, charset: str) -> str:
    try:
        return raw.decode(charset or "utf-8", "replace")
    except (LookupError, ValueError, UnicodeError):  # e.g. "idna" takes no error handler
        return raw.decode("utf-8", "replace")


def _store(folder: MailFolder, fetched: list[Fetched], own_address: str) -> int:
    """An item per Message-ID (a second folder's copy joins it), with its parties: one query for
    the batch's known Message-IDs and one flush, not a round trip per message. A UID stored
    already (a batch read again) is skipped; so is mail with someone erased on request."""
    held = set(db.session.scalars(sa.select(MailCopy.uid).where(MailCopy.folder_id == folder.id,
                                                                 MailCopy.uid.in_([m.uid for m in fetched]))))
    erased = suppression.erased_addresses(folder.studio_id)
    fetched = [m for m in fetched if m.uid not in held and not _addresses(m.envelope) & erased]
    ids = {text_of(mail.envelope.message_id).strip()[:255] for mail in fetched} - {""}
    known: dict[str, MailItem] = {item.message_id: item for item in db.session.scalars(sa.select(MailItem).where(
        MailItem.studio_id == folder.studio_id, MailItem.message_id.in_(ids)))} if ids else {}
    placed: list[tuple[MailItem, int]] = []
    made = 0
    for mail in fetched:
        message_id = text_of(mail.envelope.message_id).strip()[:255]
        item = known.get(message_id) if message_id else None
        if item is None:
            item = _item(folder.studio_id, mail, message_id)
            db.session.add(item)
            made += 1
            if message_id:
                known[message_id] = item  # the same mail twice in one batch is one item
        placed.append((item, mail.uid))
    db.session.flush()
    db.session.add_all(MailCopy(item_id=item.id, folder_id=folder.id, uid=uid) for item, uid in placed)
    return made


def _item(studio_id: int, mail: Fetched, message_id: str) -> MailItem:
    envelope = mail.envelope
    sender = (envelope.from_ or (None,))[0]
    item = MailItem(studio_id=studio_id, message_id=message_id, subject=words(envelope.subject)[:300],
                    from_address=_address(sender), from_name=words(sender.name)[:200] if sender else "",
                    sent_at=_aware(envelope.date), snippet=mail.snippet, seen=b"\\Seen" in mail.flags,
                    thread_key=_thread_key(mail.references, envelope.in_reply_to, message_id, envelope.subject))
    for role, addresses in (("from", envelope.from_), ("to", envelope.to), ("cc", envelope.cc)):
        for address in {_address(a) for a in addresses or ()} - {""}:
            item.parties.append(MailParty(studio_id=studio_id, role=role, address=address))
    return item


def _addresses(envelope) -> set[str]:
    return {_address(a) for role in (envelope.from_, envelope.to, envelope.cc) for a in role or ()} - {""}


def _thread_key(references: bytes, in_reply_to, message_id: str, subject) -> str:
    """The thread's first message: the first of References, else In-Reply-To, else this one;
    mail without any of them is threaded by its subject."""
    first = re.search(rb"<[^>]+>", references or b"")
    if first:
        return first.group(0).decode("ascii", "replace")[:255]
    if in_reply_to:
        return text_of(in_reply_to).strip()[:255]
    if message_id:
        return message_id
    return "subject:" + re.sub(r"^((re|aw|fwd?|wg)\s*:\s*)+", "", words(subject), flags=re.I).strip().lower()[:240]


def _address(address) -> str:
    if address is None or not address.mailbox or not address.host:
        return ""
    return f"{text_of(address.mailbox)}@{text_of(address.host)}".lower()[:254]


def words(value) -> str:
    """A header value as people read it: RFC 2047 encoded words decoded."""
    text = text_of(value)
    try:
        return str(email.header.make_header(email.header.decode_header(text)))
    except (ValueError, LookupError, email.errors.HeaderParseError):
        return text


def text_of(value) -> str:
    """An IMAP value (bytes, str or None) as text."""
    if value is None:
        return ""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _aware(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.now(timezone.utc)
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def forget(studio_id: int, addresses: list[str]) -> None:
    """Erasure: the stored mail these addresses are a party to goes (no commit). What stays on
    the studio's own server is the studio's to delete; the sync does not read it again."""
    theirs = sa.select(MailParty.item_id).where(MailParty.studio_id == studio_id, MailParty.address.in_(addresses))
    items = db.session.scalars(theirs).all()
    for model, column in ((MailCopy, MailCopy.item_id), (MailParty, MailParty.item_id), (MailItem, MailItem.id)):
        db.session.execute(sa.delete(model).where(column.in_(items)))


# ---- reading: what the contact pages and the Unmatched list show ----------------------------

def last_synced(studio_id: int) -> datetime | None:
    """When the studio's folders were last read to the end (the oldest of them), or None."""
    return db.session.scalar(sa.select(sa.func.min(MailFolder.synced_at)).where(MailFolder.studio_id == studio_id))


def get(studio_id: int, item_id: int) -> MailItem | None:
    return db.session.scalar(sa.select(MailItem).where(MailItem.id == item_id, MailItem.studio_id == studio_id))


def parties_of(item: MailItem) -> dict[str, list[str]]:
    """role -> addresses: who it was from, to and copied to."""
    found: dict[str, list[str]] = {}
    for party in sorted(item.parties, key=lambda p: p.id):
        found.setdefault(party.role, []).append(party.address)
    return found


def mail_of(studio_id: int, addresses: list[str], limit: int = 100) -> list[MailItem]:
    """The items any of these addresses is a party to, newest first."""
    if not addresses:
        return []
    theirs = sa.select(MailParty.item_id).where(MailParty.studio_id == studio_id, MailParty.address.in_(addresses))
    return db.session.scalars(sa.select(MailItem).where(MailItem.studio_id == studio_id, MailItem.id.in_(theirs))
                              .order_by(MailItem.sent_at.desc(), MailItem.id.desc()).limit(limit)).all()


def threads(items: list[MailItem]) -> list[list[MailItem]]:
    """Items (newest first) grouped into their conversations, the most recent conversation first."""
    grouped: dict[str, list[MailItem]] = {}
    for item in items:
        grouped.setdefault(item.thread_key or f"item:{item.id}", []).append(item)
    return list(grouped.values())


def thread_of(item: MailItem, limit: int = 50) -> list[MailItem]:
    """The conversation the item belongs to, oldest first (the item itself included)."""
    if not item.thread_key:
        return [item]
    return db.session.scalars(sa.select(MailItem).where(MailItem.studio_id == item.studio_id,
                                                        MailItem.thread_key == item.thread_key)
                              .order_by(MailItem.sent_at, MailItem.id).limit(limit)).all()


def unmatched(studio_id: int, own_address: str, limit: int = 100) -> list[MailItem]:
    """Items none of whose parties (but the studio itself) is a contact: mail from strangers,
    kept until someone makes them a contact."""
    known = sa.exists().where(MailParty.item_id == MailItem.id, ContactAddress.studio_id == studio_id,
                              ContactAddress.address == MailParty.address)
    return db.session.scalars(sa.select(MailItem).where(MailItem.studio_id == studio_id, ~known,
                                                        MailItem.from_address != own_address)
                              .order_by(MailItem.sent_at.desc(), MailItem.id.desc()).limit(limit)).all()
