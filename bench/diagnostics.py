"""How often Test connection names the right cause for a real provider's failure: every entry of a
corpus (``tests/data/mail_failures_corpus.jsonl`` unless another JSON Lines file is given) is
replayed by a scripted SMTP or IMAP server on loopback at the step where it happened, and the
settings page's own check diagnoses it. Prints each miss, the time the slowest replay took, the
share per protocol, and the share right last.

Run: .venv/bin/python bench/diagnostics.py [corpus.jsonl]
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("INSTANCE_PATH", tempfile.mkdtemp())

from app import create_app  # noqa: E402
from tests import replay  # noqa: E402


def main(path: Path) -> None:
    entries = replay.load(path)
    folder = Path(tempfile.mkdtemp())
    right, total, slowest = Counter(), Counter(), 0.0
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    try:
        with app.app_context():
            for number, entry in enumerate(entries, 1):
                started = time.monotonic()
                result = replay.replay(entry, folder)
                slowest = max(slowest, time.monotonic() - started)
                got = result.diagnosis.key if result.diagnosis else "passed"
                total[entry["protocol"]] += 1
                if got == entry["cause"]:
                    right[entry["protocol"]] += 1
                else:
                    print(f"miss {number}: {entry['protocol']} {entry['phase']} {entry['cause']} <- {got}: "
                          f"{entry['text'][:100]!r}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"slowest replay: {slowest:.1f} s")
    for protocol in sorted(total):
        print(f"{protocol}: {right[protocol]}/{total[protocol]} = {right[protocol] / total[protocol]:.1%}")
    print(f"right cause: {sum(right.values())}/{len(entries)} = {sum(right.values()) / len(entries):.1%}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else replay.CORPUS)
