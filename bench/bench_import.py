"""How long a big CSV import takes: the preview of 50,000 rows, and creating customers.

Run: .venv/bin/python bench/bench_import.py [rows-to-import]   (SQLite in a temp folder)
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("INSTANCE_PATH", tempfile.mkdtemp())

from flask_migrate import upgrade  # noqa: E402

from app import create_app  # noqa: E402
from shutterbell import accounts, imports, jobs  # noqa: E402
from shutterbell.models import utcnow  # noqa: E402


def main(import_rows: int) -> None:
    folder = Path(os.environ["INSTANCE_PATH"])
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.db'}"})
    with app.app_context():
        upgrade()
        owner = accounts.create_studio(accounts.NewStudio("Bench", "Europe/Berlin", "de_DE", "b@example.com",
                                                          "benchmark-password"))
        job = jobs.save_job(owner.studio, None, jobs.JobInput(name="Big school", profile_id=None), None)
        rows = "".join(f"Kind{i};Familie{i};kind{i}@example.com;0151 {20000000 + i};ja;nein\n"
                       for i in range(imports.MAX_ROWS))
        content = ("Vorname;Nachname;E-Mail;Telefon;email_consent;sms_consent\n" + rows).encode()
        start = time.perf_counter()
        result = imports.preview(job, content)
        seconds = time.perf_counter() - start
        print(f"preview of {len(result.rows):,} rows ({len(content) / 2**20:.1f} MB): {seconds:.2f} s "
              f"({len(result.rows) / seconds:,.0f} rows/s); {dict(result.counts)}")
        record = imports.save_preview(job, "bench.csv", imports.preview(
            job, ("Vorname;Nachname;E-Mail;Telefon;email_consent;sms_consent\n" + "".join(
                rows.splitlines(keepends=True)[:import_rows])).encode()))
        start = time.perf_counter()
        imports.run(record, utcnow())
        seconds = time.perf_counter() - start
        print(f"import of {record.created:,} customers: {seconds:.2f} s ({record.created / seconds:,.0f} rows/s)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
