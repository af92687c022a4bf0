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
import email.utils
import imaplib
import logging
import quopri
import re
from dataclasses import dataclass
from datetime import datetime, timezone

import sqlalchemy as sa

from . import addresses, autoreply, bounces, composer, diagnostics, mailcheck, mailsettings, replies, suppression
from .extensions import db
from .models import ContactAddress, MailAccount, MailCopy, MailFolder, MailItem, MailParty

log = logging.getLogger(__name__)

BATCH = 500  # UIDs fetched, stored and committed at a time
NO_REPLY = re.compile(r"^(no-?reply|do-?not-?reply|mailer-daemon|postmaster|bounces?)\b", re.I)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
CHUNK = 500  # UIDs per statement when comparing with the server (bind-parameter limits)
SNIPPET_BYTES = 2048  # of the first text part
SNIPPET = 200  # characters kept
MAIL_SHOWN = 100  # on a contact's page, newest first


def accounts_to_sync() -> list[MailAccount]:
    """Studios with an inbox, except where the owner must fix the sign-in first."""
    return list(db.session.scalars(sa.select(MailAccount).where(
        MailAccount.imap_host != "",
        sa.or_(MailAccount.imap_failing_since.is_(None),
              MailAccount.imap_failure_cause.not_in(mailsettings.OWNER_MUST_FIX)))))


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
        condstore, own = _enable_condstore(client), account.from_address.lower()
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


def _sync_folder(client, folder: MailFolder, own_address: str, now: datetime, condstore: bool) -> int:
    status = client.select_folder(folder.name, readonly=True)
    validity = int(status[b"UIDVALIDITY"])
    if folder.uidvalidity != validity:
        _forget_copies(folder)
        folder.uidvalidity, folder.last_uid, folder.highest_modseq = validity, 0, None
        db.session.commit()
    watermark = folder.last_uid
    on_server = sorted(client.search(["ALL"]))
    if folder.on_server != len(on_server):  # what a first sync's progress bar counts to
        folder.on_server = len(on_server)
        db.session.commit()
    known = [uid for uid in on_server if uid <= watermark]
    _drop_deleted(folder, known)
    modseq = int(status[b"HIGHESTMODSEQ"]) if condstore and b"HIGHESTMODSEQ" in status else None
    _refresh_flags(client, folder, modseq, known)
    new = [uid for uid in on_server if uid > watermark]
    stored = 0
    asked = _ask(client, new[:BATCH]) if new else b""
    for start in range(0, len(new), BATCH):
        batch = new[start:start + BATCH]
        fetched = _fetch(client, batch, asked)
        if len(new) > start + BATCH:  # the server reads the next batch while this one is stored
            asked = _ask(client, new[start + BATCH:start + 2 * BATCH])
        fresh = _store(folder, [mail for mail in fetched if mail.kept_from(own_address)])
        stored += len(fresh)
        if folder.name.upper() == "INBOX":  # what people wrote to the studio
            written = [(mail, item_id) for mail, item_id in fresh if mail.from_someone(own_address)]
            autoreply.answer(folder.studio_id, written, now)
            replies.note(folder.studio_id, [mail for mail, _item in written], now)
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


def _drop_deleted(folder: MailFolder, known: list[int]) -> None:
    """Copies whose UID the server no longer has (``known``: its UIDs up to the watermark): mail
    deleted or moved away in the studio's mail client."""
    copies = MailCopy.__table__.c  # plain rows: a big folder's UIDs, not ORM attributes
    held = set(db.session.scalars(sa.select(copies.uid).where(copies.folder_id == folder.id)))
    gone = sorted(held - set(known))
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
    """What the lists need of one message, read from its headers and the first bytes of its body."""
    uid: int
    message_id: str
    subject: str
    from_name: str
    from_address: str
    parties: dict[str, set[str]]  # "from", "to", "cc" -> normalised addresses
    sent_at: datetime
    thread_key: str
    seen: bool
    snippet: str
    report: bytes | None = None  # a delivery report's first bytes: for ``bounces``, not stored as mail
    ours: bool = False  # sent by the app itself (automated, an invitation, a reset link): never stored
    automatic: bool = False  # Auto-Submitted (RFC 3834): no person wrote it
    bulk: bool = False  # a mailing list or a newsletter (List-Id, List-Unsubscribe, Precedence)
    answers: tuple[str, ...] = ()  # the Message-IDs it replies to (In-Reply-To, References)

    def addresses(self) -> set[str]:
        return set().union(*self.parties.values())

    def from_someone(self, own_address: str) -> bool:
        """A person wrote it to the studio (not the studio itself, no automatic, list or
        no-reply sender): it may be answered, and it is a reply that stops a sequence."""
        return bool(self.from_address) and self.from_address != own_address and not (
            self.automatic or self.bulk or self.report is not None or NO_REPLY.match(self.from_address))

    def kept_from(self, own_address: str) -> bool:
        """Stored as mail? Not a delivery report, not the app's own: marked so, or (sent before
        it was marked) automatic mail from the studio's own address."""
        return self.report is None and not self.ours and not (self.automatic and self.from_address == own_address)


# Out-of-office and helpdesk replies that say so without Auto-Submitted (Microsoft, Zendesk, ...).
AUTOMATIC_HEADERS = ("X-AUTOREPLY", "X-AUTORESPOND", "X-AUTO-RESPONSE-SUPPRESS")
HEADERS = ("MESSAGE-ID", "FROM", "TO", "CC", "SUBJECT", "DATE", "IN-REPLY-TO", "REFERENCES", "CONTENT-TYPE",
           "CONTENT-TRANSFER-ENCODING", "AUTO-SUBMITTED", "PRECEDENCE", "LIST-ID", "LIST-UNSUBSCRIBE",
           *AUTOMATIC_HEADERS, composer.SERVICE_HEADER.upper())
HEADER_FIELDS = f"BODY.PEEK[HEADER.FIELDS ({' '.join(HEADERS)})]"
SUMMARY = ("FLAGS", HEADER_FIELDS, f"BODY.PEEK[TEXT]<0.{SNIPPET_BYTES}>")  # what a sync fetches of new mail
_ATOM = r'[^<>\s,;:()"\\\[\]@]+'
SIMPLE_ADDRESS = re.compile(rf'\s*(?:"?([^"<>,;:()\\]*?)"?\s*<({_ATOM}@{_ATOM})>|({_ATOM}@{_ATOM}))\s*')


def _ask(client, uids: list[int]) -> bytes:
    """Send a batch's FETCH (its tag is returned; ``_fetch`` reads the answer): asked before the
    batch ahead of it is stored, the server reads the mail meanwhile. One FETCH per batch: flags,
    the headers the lists need and the first bytes of the body, the last two as literals.
    Parsing the server's ENVELOPE and BODYSTRUCTURE lists token by token cost more than
    everything else the sync does; reading two literals costs little."""
    imap = client._imap
    tag = imap._new_tag()
    imap.tagged_commands.pop(tag, None)  # (imaplib's bookkeeping: this command never enters it)
    imap.send(b"%s UID FETCH %s (%s)\r\n" % (tag, ",".join(map(str, uids)).encode(), " ".join(SUMMARY).encode()))
    return tag


def _fetch(client, uids: list[int], asked: bytes) -> list[Fetched]:
    """What the lists need of the mail ``_ask`` asked for (only that FETCH may be waiting)."""
    data = _fetch_rows(client, uids, asked)
    read = {}
    for uid, row in data.items():
        header = _section(row, b"BODY[HEADER.FIELDS")
        if header is not None:  # else an unsolicited answer: a flag changed meanwhile
            headers = Headers.parse(header)
            read[uid] = (row, headers, _date(headers.get("date")))
    reports = _reports(client, [uid for uid, (_row, headers, _sent) in read.items() if _is_report(headers)])
    arrivals = _arrivals(client, [uid for uid, (_row, _headers, sent_at) in read.items() if sent_at is None])
    return [_read(uid, row, headers, reports.get(uid),
                  sent_at or arrivals.get(uid) or datetime.now(timezone.utc))
            for uid, (row, headers, sent_at) in sorted(read.items())]


def _fetch_rows(client, uids: list[int], asked: bytes) -> dict[int, dict]:
    """What IMAPClient's ``fetch`` returns (UID -> {item name: value}) for flags and body
    sections, read straight from the answer's lines and literals: IMAPClient's general lexer,
    token by token, took a third of a first sync, and imaplib's reader, logging every line, half
    of the rest. An answer in any other shape is read by IMAPClient after all (the same FETCH
    again: it changes nothing on the server)."""
    rows = _rows(_answer(client._imap, asked))
    return rows if rows is not None else client.fetch(uids, SUMMARY)


_LITERAL = re.compile(rb"\{(\d+)\}\r\n\Z")


def _answer(imap, tag: bytes) -> list:
    """The answer to the FETCH sent with ``tag``, its untagged FETCH answers as imaplib would hand
    them over: a line without ``* `` and ``FETCH``, or (such a line, the literal that followed it).
    Other untagged answers (EXISTS, EXPUNGE) are passed over; BYE, NO and BAD raise imaplib's
    errors, which the sync reports like any other."""
    data, fetch = [], False
    while True:
        line = imap.readline()
        if not line:
            raise imaplib.IMAP4.abort("the server closed the connection during FETCH")
        if line.startswith(tag + b" "):
            if not line[len(tag) + 1:].startswith(b"OK"):
                raise imaplib.IMAP4.error(f"FETCH failed: {text_of(line[len(tag) + 1:]).strip()}")
            return data
        if line.startswith(b"* "):
            number, _, rest = line[2:].partition(b" ")
            fetch = number.isdigit() and rest.startswith(b"FETCH ")
            if line.startswith(b"* BYE"):
                raise imaplib.IMAP4.abort(f"the server said {text_of(line[2:]).strip()}")
            if fetch:
                line = number + b" " + rest[len(b"FETCH "):]
        if not fetch:
            literal = _LITERAL.search(line)
            if literal:  # (an untagged answer of another kind carrying a literal: read past it)
                imap.read(int(literal.group(1)))
            continue
        literal = _LITERAL.search(line)
        if literal:
            data.append((line[:literal.start()] + b"{%s}" % literal.group(1), imap.read(int(literal.group(1)))))
        else:
            data.append(line.rstrip(b"\r\n"))


_RESPONSE_START = re.compile(rb"\d+ \(")
_UID = re.compile(rb"\bUID (\d+)")
_FLAGS = re.compile(rb"\bFLAGS \(([^)]*)\)")
_BODY_SECTION = re.compile(rb'(BODY\[[^\]]*\](?:<\d+>)?) (?:\{(\d+)\}$|(NIL|""))')


def _rows(data: list) -> dict[int, dict] | None:
    """The untagged FETCH answers as imaplib hands them over: a line, or (a line ending in
    ``{size}``, the literal that followed). A message's answer starts with its sequence number
    and may span several; two answers for one UID (a flag changed meanwhile, told unasked) are
    merged, the later flags winning. None for anything else (a section sent as a quoted string)."""
    answers: list[dict] = []
    row: dict | None = None
    for entry in data:
        if entry is None:  # no answer at all (the messages were expunged meanwhile)
            continue
        line, literal = entry if isinstance(entry, tuple) else (entry, None)
        if _RESPONSE_START.match(line):
            row = {}
            answers.append(row)
        elif row is None:
            return None
        sections = _BODY_SECTION.findall(line)
        if len(sections) != line.count(b"BODY["):
            return None
        for name, size, empty in sections:
            row[name] = literal if size else b""
        if (uid := _UID.search(line)) is not None:
            row[b"UID"] = int(uid.group(1))
        if (flags := _FLAGS.search(line)) is not None:
            row[b"FLAGS"] = tuple(flags.group(1).split())
    rows: dict[int, dict] = {}
    for answer in answers:  # (one without UID, a flag change told by sequence number, is left out)
        if b"UID" in answer:
            rows.setdefault(answer[b"UID"], {}).update(answer)
    return rows


class Headers:
    """A header block, unfolded: what the lists need, read far faster than by the ``email``
    package's parser. Bytes are read as UTF-8 (RFC 6532)."""

    def __init__(self, fields: dict[str, list[str]]):
        self.fields = fields  # name in lower case -> its values

    @classmethod
    def parse(cls, raw: bytes) -> Headers:
        fields: dict[str, list[str]] = {}
        for line in re.split(r"\r?\n(?![ \t])", raw.decode("utf-8", "replace")):
            name, found, value = line.partition(":")
            if found and name.strip():
                fields.setdefault(name.strip().lower(), []).append(" ".join(value.split()))
        return cls(fields)

    def get(self, name: str, default: str = "") -> str:
        values = self.fields.get(name.lower())
        return values[0] if values else default

    def all(self, name: str) -> list[str]:
        return self.fields.get(name.lower(), [])

    def content_type(self) -> tuple[str, dict[str, str]]:
        """The type (text/plain without a Content-Type, RFC 2045) and its parameters."""
        kind, _, rest = self.get("content-type", "text/plain").partition(";")
        params = {key.lower(): quoted if quoted or not plain else plain
                  for key, quoted, plain in re.findall(r'([\w*.-]+)\s*=\s*(?:"([^"]*)"|([^;\s]*))', rest)}
        return kind.strip().lower() or "text/plain", params


def _section(row: dict, prefix: bytes) -> bytes | None:
    """A fetched section's bytes (b"" for NIL); None when the answer has no such section."""
    for key, value in row.items():
        if key.startswith(prefix):
            return value or b""
    return None


def _read(uid: int, row: dict, headers: Headers, report: bytes | None, sent_at: datetime) -> Fetched:
    message_id = _first_id(headers.get("message-id"))  # (one that is no <id> cannot thread or be answered)
    named = {role: _named_addresses(headers.all(role)) for role in ("from", "to", "cc")}
    parties = {role: set(filter(None, (_address(address) for _name, address in found))) for role, found in named.items()}
    from_name, from_address = next(((words(name), _address(address)) for name, address in named["from"]
                                    if _address(address)), ("", ""))
    subject = words(headers.get("subject", ""))
    return Fetched(uid, message_id, subject[:300], from_name[:200], from_address, parties,
                   sent_at,
                   _thread_key(headers.get("references", ""), headers.get("in-reply-to", ""), message_id, subject),
                   b"\\Seen" in row.get(b"FLAGS", ()),
                   "" if report is not None else _snippet(headers, _section(row, b"BODY[TEXT]") or b""),
                   report, bool(headers.get(composer.SERVICE_HEADER)),
                   headers.get("auto-submitted", "no").strip().lower() != "no"
                   or any(headers.get(name) for name in AUTOMATIC_HEADERS)
                   or headers.get("precedence").strip().lower() == "auto_reply",
                   bool(headers.get("list-id") or headers.get("list-unsubscribe"))
                   or headers.get("precedence").strip().lower() in ("bulk", "list", "junk"),
                   _ids(headers.get("in-reply-to", "") + " " + headers.get("references", "")))


def _named_addresses(values: list[str]) -> list[tuple[str, str]]:
    """(name, address) pairs of an address header: the usual lone ``Name <address>`` read by a
    pattern, anything else (groups, quoted commas, comments) by the ``email`` package."""
    found = SIMPLE_ADDRESS.fullmatch(values[0]) if len(values) == 1 and len(values[0]) < 1000 else None
    if found:
        return [(found.group(1) or "", found.group(2) or found.group(3))]
    return email.utils.getaddresses(values)


def _is_report(headers: Headers) -> bool:
    """multipart/report; report-type=delivery-status (RFC 3464)."""
    kind, params = headers.content_type()
    return kind == "multipart/report" and params.get("report-type", "").lower() == "delivery-status"


def _arrivals(client, uids: list[int]) -> dict[int, datetime]:
    """When the server received mail without a readable Date (rare: asked for only then)."""
    if not uids:
        return {}
    # IMAPClient gives INTERNALDATE as the machine's local time, without a zone.
    return {uid: row[b"INTERNALDATE"].astimezone(timezone.utc)
            for uid, row in client.fetch(uids, ["INTERNALDATE"]).items() if b"INTERNALDATE" in row}


def _reports(client, uids: list[int]) -> dict[int, bytes]:
    if not uids:
        return {}
    fetched = client.fetch(uids, [f"BODY.PEEK[]<0.{bounces.REPORT_BYTES}>"])
    return {uid: _section(row, b"BODY[]") or b"" for uid, row in fetched.items()}


def _snippet(headers, start: bytes) -> str:
    found = _first_text(headers, start.replace(b"\r\n", b"\n"))
    return found[0] if found else ""


def _first_text(headers: Headers, body: bytes, depth: int = 0) -> tuple[str, bool] | None:
    """(the text on one line, is_html) of the first text/plain part among the body's first
    bytes, else of the first text/html part; None for mail without text there."""
    kind, params = headers.content_type()
    if kind in ("text/plain", "text/html") and not headers.get("content-disposition").lower().startswith("attachment"):
        text = decode(body, headers.get("content-transfer-encoding").lower(), params.get("charset") or "utf-8")
        return _one_line(text, kind == "text/html"), kind == "text/html"
    boundary = params.get("boundary") if kind.startswith("multipart/") and depth < 4 else None
    if not boundary:
        return None
    html_parts, html_found = [], []  # HTML is read only when no plain text follows (rare)
    for part, part_body in _parts(body, boundary):
        if part.content_type()[0] == "text/html":
            html_parts.append((part, part_body))
            continue
        found = _first_text(part, part_body, depth + 1)
        if found is not None and not found[1]:
            return found
        if found is not None:
            html_found.append(found)
    return next(filter(None, (_first_text(part, part_body, depth + 1) for part, part_body in html_parts)),
                html_found[0] if html_found else None)


def _parts(body: bytes, boundary: str):
    """(headers, body) of each part that starts within ``body``; the last one's body may be cut off."""
    for chunk in body.split(b"--" + boundary.encode("utf-8", "replace"))[1:]:
        if chunk.startswith(b"--"):  # the closing delimiter
            return
        part = chunk.partition(b"\n")[2]
        if part.startswith(b"\n"):  # no headers: text/plain (RFC 2046)
            yield Headers({}), part[1:].rstrip(b"\n")
            continue
        head, found, rest = part.partition(b"\n\n")
        if not found:  # the part's headers are cut off: nothing to read
            return
        yield Headers.parse(head), rest.rstrip(b"\n")


def _one_line(text: str, is_html: bool) -> str:
    """A snippet: the start of the text, on one line (an HTML part without its tags and styles,
    a cut-off ``<style>`` too)."""
    if is_html:
        text = re.sub(r"(?is)<(script|style)\b.*?(</\1>|$)|<[^>]+>", " ", text)
    start = " ".join(_CONTROL.sub(" ", text[:SNIPPET * 4]).split())  # most text is no blank space
    return (start if len(start) >= SNIPPET or len(text) <= SNIPPET * 4
            else " ".join(_CONTROL.sub(" ", text).split()))[:SNIPPET]


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


def _store(folder: MailFolder, fetched: list[Fetched]) -> list[tuple[Fetched, int]]:
    """An item per Message-ID (a second folder's copy joins it), with its parties and copies: one
    query for the batch's known Message-IDs and one bulk insert per table, not a round trip per
    message. A UID stored already (a batch read again) is skipped; so is mail with someone erased
    on request. Returns the new items: (what was read, item id)."""
    held = set(db.session.scalars(sa.select(MailCopy.uid).where(MailCopy.folder_id == folder.id,
                                                                 MailCopy.uid.in_([m.uid for m in fetched]))))
    erased = suppression.erased_addresses(folder.studio_id)
    fetched = [m for m in fetched if m.uid not in held and not m.addresses() & erased]
    ids = {mail.message_id for mail in fetched} - {""}
    known: dict[str, int] = dict(db.session.execute(sa.select(MailItem.message_id, MailItem.id).where(
        MailItem.studio_id == folder.studio_id, MailItem.message_id.in_(ids))).all()) if ids else {}
    fresh, seen_ids = [], set(known)
    for mail in fetched:
        if not mail.message_id or mail.message_id not in seen_ids:  # the same mail twice in a batch: one item
            fresh.append(mail)
            seen_ids.add(mail.message_id)
    item_of: dict[int, int] = {}
    if fresh:
        for mail, item_id in zip(fresh, _insert_items(folder.studio_id, fresh)):
            item_of[mail.uid] = item_id
            known.setdefault(mail.message_id, item_id)
        parties = [{"studio_id": folder.studio_id, "item_id": item_of[mail.uid], "role": role, "address": address}
                   for mail in fresh for role, addresses in mail.parties.items() for address in sorted(addresses)]
        if parties:  # (an empty list would be one row of no values: "To: undisclosed-recipients:;" alone)
            db.session.execute(MailParty.__table__.insert(), parties)
    if fetched:
        db.session.execute(MailCopy.__table__.insert(), [
            {"item_id": item_of.get(mail.uid) or known[mail.message_id], "folder_id": folder.id, "uid": mail.uid}
            for mail in fetched])
    return [(mail, item_of[mail.uid]) for mail in fresh]


def _insert_items(studio_id: int, fresh: list[Fetched]) -> list[int]:
    """The new items' ids, in order. Mail with a Message-ID (unique in the batch) goes in by
    multi-row INSERTs whose RETURNING rows are matched by it: SQLite does not promise their order,
    and asking SQLAlchemy to keep it inserts one row per statement there (a third of a first
    sync). The rare mail without one goes in by itself."""
    table = MailItem.__table__
    identified = [mail for mail in fresh if mail.message_id]
    made = dict(db.session.execute(table.insert().returning(table.c.message_id, table.c.id),
                                   [_item_row(studio_id, mail) for mail in identified]).all()) if identified else {}
    return [made[mail.message_id] if mail.message_id else
            db.session.execute(table.insert().values(_item_row(studio_id, mail))).inserted_primary_key[0]
            for mail in fresh]


def _item_row(studio_id: int, mail: Fetched) -> dict:
    return {"studio_id": studio_id, "message_id": mail.message_id, "subject": mail.subject,
            "from_address": mail.from_address, "from_name": mail.from_name, "sent_at": mail.sent_at,
            "snippet": mail.snippet, "seen": mail.seen, "thread_key": mail.thread_key, "attachments": "",
            "created_at": datetime.now(timezone.utc)}


def _first_id(value: str) -> str:
    found = re.search(r"<[\x21-\x3b\x3d\x3f-\x7e]+>", value or "")
    return found.group(0)[:255] if found else ""


def _ids(value: str) -> tuple[str, ...]:
    """Each <id> once, the latest (In-Reply-To's, then the end of References) first, at most 20."""
    found = re.findall(r"<[\x21-\x3b\x3d\x3f-\x7e]{1,253}>", value)
    return tuple(dict.fromkeys([*found[:1], *reversed(found[1:])]))[:20]


def _thread_key(references: str, in_reply_to: str, message_id: str, subject: str) -> str:
    """The thread's first message: the first of References, else In-Reply-To, else this one;
    mail without any of them is threaded by its subject."""
    first = _first_id(references) or _first_id(in_reply_to) or message_id
    if first:
        return first
    return "subject:" + re.sub(r"^((re|aw|fwd?|wg)\s*:\s*)+", "", subject, flags=re.I).strip().lower()[:240]


def _address(address: str) -> str:
    address = addresses.as_stored(address)
    return address[:254] if "@" in address[1:-1] else ""


def _date(value: str) -> datetime | None:
    """The Date header in UTC; None when missing or unreadable."""
    try:  # (a year 9999 in a far zone overflows when moved to UTC)
        moment = email.utils.parsedate_to_datetime(value)
        return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def words(value) -> str:
    """A header value as people read it: RFC 2047 encoded words decoded, on one line, without
    control characters (PostgreSQL refuses a NUL, and a sender can encode one)."""
    text = text_of(value)
    if "=?" in text:
        try:
            text = str(email.header.make_header(email.header.decode_header(text)))
        except (ValueError, LookupError, email.errors.HeaderParseError):
            pass
    return _CONTROL.sub(" ", text)


def text_of(value) -> str:
    """An IMAP value (bytes, str or None) as text."""
    if value is None:
        return ""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


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


def first_sync_progress(studio_id: int) -> tuple[int, int] | None:
    """(stored, on the server) while a folder is read for the first time; None once each was read
    to the end (the few the sync leaves out, delivery reports and the app's own mail, are never
    stored: the count ends a little short of the total, then the bar goes)."""
    folders = db.session.scalars(sa.select(MailFolder).where(MailFolder.studio_id == studio_id)).all()
    if not folders or all(folder.synced_at is not None for folder in folders):
        return None
    read = db.session.scalar(sa.select(sa.func.count()).select_from(MailCopy).where(
        MailCopy.folder_id.in_([folder.id for folder in folders])))
    total = sum(folder.on_server for folder in folders)
    return min(read, total), total


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
