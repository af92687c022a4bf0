"""How often Test connection names the right cause for a real provider's failure: every entry of a
corpus (``tests/data/mail_failures_corpus.jsonl`` unless another JSON Lines file is given) is
replayed by a scripted SMTP or IMAP server on loopback at the step where it happened, and the
settings page's own check diagnoses it. Prints each miss, the time the slowest replay took, the
share per protocol, the share whose consequence is right (what sending then does: wait and retry,
pause the studio, or fail that one message; for the inbox: retry or pause the sync), how many
replies retried as deferrals (4xx) named the labelled cause in their hint, how many refusals read
from their code alone fail one message but pause sending when the next customer meets the same
words (``sending.RefusedInARow``), and the share right last.

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
from shutterbell import diagnostics  # noqa: E402
from shutterbell.outbox.sending import judge  # noqa: E402
from tests import replay  # noqa: E402


_DEFERRALS = ("temporary_server_error", "rate_limited")


def consequence(protocol: str, phase: str, key: str) -> str:
    """What a studio sees happen after this cause at this step."""
    cause = diagnostics.CAUSES[key]
    if protocol == "smtp":
        return judge(diagnostics.DeliveryFailure(diagnostics.Diagnosis(cause, ""), phase))
    return "retry" if cause.retry else "pause"


def main(path: Path) -> None:
    entries = replay.load(path)
    folder = Path(tempfile.mkdtemp())
    right, total, same_consequence, slowest = Counter(), Counter(), 0, 0.0
    deferred, named = 0, 0  # labelled by words, diagnosed as a deferral: did its hint name the label?
    in_a_row = Counter()  # unread refusals failing one message: labelled a pause (caught in a row) or not
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    try:
        with app.app_context():
            for number, entry in enumerate(entries, 1):
                started = time.monotonic()
                result = replay.replay(entry, folder)
                slowest = max(slowest, time.monotonic() - started)
                got = result.diagnosis.key if result.diagnosis else "passed"
                total[entry["protocol"]] += 1
                wanted = consequence(entry["protocol"], entry["phase"], entry["cause"])
                done = consequence(entry["protocol"], entry["phase"], got) if got != "passed" else "passed"
                same_consequence += done == wanted
                said = result.diagnosis.named if result.diagnosis else ""
                if done == "failed" and entry["protocol"] == "smtp" and diagnostics.unread(result.diagnosis):
                    in_a_row["ours" if wanted == "pause" else "not ours"] += 1
                if got in _DEFERRALS and entry["cause"] not in _DEFERRALS:
                    deferred, named = deferred + 1, named + replay.names(entry["cause"], said)
                if replay.names(entry["cause"], got):
                    right[entry["protocol"]] += 1
                else:
                    print(f"miss {number}: {entry['protocol']} {entry['phase']} {entry['cause']} <- {got}"
                          f"{f' naming {said}' if said else ''}"
                          f"{'' if done == wanted else f' (would {done}, not {wanted})'}: "
                          f"{(entry['text'] or entry['condition'] or entry['python_exception'] or '')[:100]!r}")  # no reply
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"slowest replay: {slowest:.1f} s")
    for protocol in sorted(total):
        print(f"{protocol}: {right[protocol]}/{total[protocol]} = {right[protocol] / total[protocol]:.1%}")
    print(f"right consequence: {same_consequence}/{len(entries)} = {same_consequence / len(entries):.1%}")
    print(f"labelled by its words, retried as a deferral, its hint naming the label: {named}/{deferred}")
    print(f"read from its code alone, failing one message, pausing sending when the next customer meets the same "
          f"words: {in_a_row['ours']} labelled the account's, {in_a_row['not ours']} "
          f"not (these pause once per wording)")
    print(f"right cause: {sum(right.values())}/{len(entries)} = {sum(right.values()) / len(entries):.1%}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else replay.CORPUS)
