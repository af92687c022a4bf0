"""CSV import of customers: a preview (what will be created, what is a duplicate, which rows are
invalid and why) before anything is saved; then the valid new rows, in the background when many."""
from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask_babel import format_number
from flask_babel import lazy_gettext as _l

from . import channels, customers
from .customers import CustomerInput
from .extensions import db
from .models import Customer, Import, Job, Studio

MAX_ROWS = 50_000
MAX_BYTES = 10 * 1024 * 1024
INLINE_ROWS = 200  # more than this runs in the worker, with a progress bar
# Header names people use, lower-cased without spaces, dashes or underscores.
ALIASES = {
    "first_name": {"firstname", "first", "givenname", "vorname"},
    "last_name": {"lastname", "last", "surname", "familyname", "nachname", "name"},
    "email": {"email", "emailaddress", "mail", "emailadresse"},
    "phone": {"phone", "mobile", "mobilephone", "cell", "telefon", "handy", "mobil", "phonenumber"},
    "email_consent": {"emailconsent", "consentemail", "emailok", "einwilligungemail"},
    "sms_consent": {"smsconsent", "consentsms", "smsok", "einwilligungsms"},
    "marketing_consent": {"marketingconsent", "consentmarketing", "offers", "werbung", "einwilligungwerbung"},
}
YES = {"1", "yes", "y", "true", "x", "ja", "j", "oui", "si"}


class ImportFileError(ValueError):
    """The file as a whole cannot be read; nothing is imported."""


@dataclass
class PreviewRow:
    line: int
    data: CustomerInput
    status: str  # "new", "duplicate" or "invalid"
    problems: dict[str, str] = field(default_factory=dict)


@dataclass
class Preview:
    rows: list[PreviewRow]
    encoding: str
    counts: Counter


def decode(raw: bytes) -> tuple[str, str]:
    """UTF-8 (with or without Excel's BOM), else Windows-1252, the other thing Excel writes."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise ImportFileError(_l("The file is neither UTF-8 nor Windows-1252 text. Save it as “CSV UTF-8”."))


def _column_map(header: list[str]) -> dict[str, int]:
    found = {}
    for index, name in enumerate(header):
        key = "".join(ch for ch in name.lower() if ch.isalnum())
        for column, aliases in ALIASES.items():
            if key in aliases and column not in found:
                found[column] = index
    missing = [c for c in ("first_name", "email") if c not in found]
    if missing:
        raise ImportFileError(_l("The first line must name the columns; missing: %(missing)s. Expected: "
                                 "first_name, last_name, email, phone, email_consent, sms_consent, "
                                 "marketing_consent.", missing=", ".join(missing)))
    return found


def preview(job: Job, raw: bytes) -> Preview:
    """Read a CSV and say, row by row, what importing it would do. Saves nothing."""
    if len(raw) > MAX_BYTES:
        raise ImportFileError(_l("The file is larger than 10 MB. Split it into several files."))
    text, encoding = decode(raw)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise ImportFileError(_l("The first line cannot be read as CSV (%(error)s).", error=str(exc))) from None
    if not header:
        raise ImportFileError(_l("The file is empty."))
    columns = _column_map(header)
    studio = db.session.get(Studio, job.studio_id)
    region = customers.region_of(studio)
    known = set(db.session.scalars(sa.select(Customer.email).where(Customer.job_id == job.id)))
    rows = []
    try:
        for line, values in enumerate(reader, start=2):
            if not any(v.strip() for v in values):
                continue
            if len(rows) >= MAX_ROWS:
                raise ImportFileError(_l("More than %(num)s rows. Split the file.", num=format_number(MAX_ROWS)))
            rows.append(_preview_row(line, values, columns, region, known))
    except csv.Error as exc:
        raise ImportFileError(_l("Line %(line)d cannot be read as CSV (%(error)s).", line=reader.line_num,
                                 error=str(exc))) from None
    return Preview(rows, encoding, Counter(row.status for row in rows))


def _preview_row(line: int, values: list[str], columns: dict[str, int], region: str, known: set[str]) -> PreviewRow:
    def cell(name: str) -> str:
        index = columns.get(name)
        return values[index].strip() if index is not None and index < len(values) else ""

    data = CustomerInput(cell("first_name"), cell("last_name"), cell("email"), cell("phone"),
                         email_consent=cell("email_consent").lower() in YES,
                         sms_consent=cell("sms_consent").lower() in YES,
                         marketing_consent=cell("marketing_consent").lower() in YES)
    problems, email, _phone = customers.check(data, region)
    if problems:
        return PreviewRow(line, data, "invalid", problems)
    if email in known:
        return PreviewRow(line, data, "duplicate")
    known.add(email)
    return PreviewRow(line, data, "new")


def save_preview(job: Job, filename: str, result: Preview) -> Import:
    new = [asdict(row.data) for row in result.rows if row.status == "new"]
    record = Import(studio_id=job.studio_id, job_id=job.id, filename=filename[:200], rows=json.dumps(new),
                    total=len(new))
    db.session.add(record)
    db.session.commit()
    return record


def get_import(studio: Studio, job: Job, import_id: int) -> Import | None:
    return db.session.scalar(sa.select(Import).where(Import.id == import_id, Import.job_id == job.id,
                                                     Import.studio_id == studio.id))


def run(record: Import, now: datetime, progress_every: int = 100) -> None:
    """Create the previewed customers, committing every ``progress_every`` rows with the progress
    the page shows. A row that became a duplicate meanwhile is skipped (and not counted); if the
    run fails, the batches before stay and the page says where it stopped."""
    job = db.session.get(Job, record.job_id)
    wording = {purpose: f"Consent recorded by the studio before importing {record.filename}"
               for purpose in (*channels.KEYS, "marketing")}
    record.status = "running"
    db.session.commit()
    try:
        for number, row in enumerate(json.loads(record.rows), start=1):
            _, created = customers.add(job, CustomerInput(**row), "import", wording, now)
            record.created += created
            record.done = number
            if number % progress_every == 0:
                db.session.commit()  # a batch of customers, and the progress the page shows
    except Exception as exc:  # the page says where it stopped; the batches before stay
        db.session.rollback()
        # The exception's text can quote the row's values: keep only its kind.
        record.status, record.error = "failed", f"{type(exc).__name__} at row {record.done + 1}"
    else:
        record.status = "done"
    record.finished_at = now
    record.rows = "[]"  # the personal data has done its job
    db.session.commit()


def start(record: Import, now: datetime) -> None:
    """Run a small import at once; queue a large one for the worker."""
    if record.total <= INLINE_ROWS:
        run(record, now)
        return
    from . import queue

    record.status = "queued"
    db.session.commit()
    queue.current().run_import(record.id)
