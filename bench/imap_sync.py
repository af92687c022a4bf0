"""How long the inbox sync takes: N two-part messages (text + HTML, 500 senders and one client
who sent every tenth, threads) in a private Dovecot's INBOX, written straight into its Maildir;
the app's first sync (store, thread, link to 501 contacts), a second sync that finds nothing new,
and that big client's contact page served to the signed-in owner, on the embedded SQLite
default; beside them, in the same run, ``mbsync`` (Debian's isync, when installed) pulling the
same folder into a Maildir, first and again.

Run: .venv/bin/python bench/imap_sync.py [messages]
"""
from __future__ import annotations

import contextvars
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("INSTANCE_PATH", tempfile.mkdtemp())

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from app import create_app  # noqa: E402
from shutterbell import accounts, contacts, inbox, mailsettings  # noqa: E402
from shutterbell.extensions import db  # noqa: E402
from shutterbell.models import MailItem, utcnow  # noqa: E402
from tests.imapserver import dovecot  # noqa: E402
from tests.mailservers import PASSWORD, USERNAME, make_certificate  # noqa: E402

SENDERS = 500


BIG_CLIENT = "grosskunde@example.com"  # every tenth message: a contact with 1,000 of 10,000


def message(n: int) -> bytes:
    sender = BIG_CLIENT if n % 10 == 0 else f"eltern{n % SENDERS}@example.com"
    thread = f"<t{n // 4}@example.com>"
    return (f"Message-ID: <m{n}@example.com>\r\nFrom: Familie {n % SENDERS} <{sender}>\r\n"
            f"To: hallo@lichtblick.example\r\nSubject: =?utf-8?q?Fotos_f=C3=BCr_Kind_{n}?=\r\n"
            f"Date: Mon, 02 Mar 2026 08:00:00 +0100\r\nReferences: {thread}\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/alternative; boundary="b"\r\n\r\n--b\r\n'
            "Content-Type: text/plain; charset=utf-8\r\n\r\n"
            f"Hallo, wann sind die Bilder von Kind {n} fertig? Grüße\r\n" + "Text.\r\n" * 40 +
            "--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Hallo</p>" + "<p>HTML</p>\r\n" * 40 +
            "--b--\r\n").encode()


def fill(folder: Path, count: int) -> None:
    new = folder / "home" / USERNAME / "Maildir" / "new"
    for n in range(count):
        (new / f"{n}.bench:2,").write_bytes(message(n))
    for path in (folder / "home").rglob("*"):
        shutil.chown(path, "dovecot", "dovecot")


def main(count: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-imap-"))
    work.chmod(0o755)
    (work / "tls").mkdir()
    (work / "dovecot").mkdir()
    (work / "dovecot").chmod(0o755)
    cert, key = make_certificate(work / "tls")
    with dovecot(work / "dovecot", cert, key) as (_, imaps):
        fill(work / "dovecot", count)
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{work / 'bench.db'}", "MAIL_CA_FILE": str(cert),
                          "MAIL_PRIVATE_HOSTS": "allow", "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
        with app.app_context():
            upgrade()
            studio = accounts.create_studio(accounts.NewStudio("Studio Lichtblick", "Europe/Berlin", "de_DE",
                                                               "olivia@lichtblick.example", "a-long-password")).studio
            for n in range(SENDERS):
                contacts.save(studio, None, contacts.ContactInput(f"Familie {n}", emails=[f"eltern{n}@example.com"]))
            big = contacts.save(studio, None, contacts.ContactInput("Großkunde", emails=[BIG_CLIENT])).id
            account = mailsettings.account_of(studio)
            account.from_address = "hallo@lichtblick.example"
            db.session.add(account)
            mailsettings.save_imap(account, mailsettings.ImapInput("127.0.0.1", imaps, "ssl", USERNAME, PASSWORD,
                                                                   ["INBOX"]), True, utcnow())
            _warm_up(imaps, cert)  # Dovecot indexes a new Maildir on first access: neither side pays for it
            started = time.perf_counter()
            stored = inbox.sync(account, utcnow())
            first = time.perf_counter() - started
            started = time.perf_counter()
            inbox.sync(account, utcnow())
            again = time.perf_counter() - started
            one = contacts.of_address(studio.id, "eltern7@example.com")
            started = time.perf_counter()
            shown = inbox.mail_of(studio.id, [a.address for a in one.addresses])
            opening = time.perf_counter() - started
            total = db.session.scalar(sa.select(sa.func.count()).select_from(MailItem))
            big_page = _open_contact_page(app, big)
        mbsync = _mbsync(work, imaps, cert)
    shutil.rmtree(work, ignore_errors=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if mbsync:
        print(f"mbsync: first pull {mbsync[0]:.2f} s, again with nothing new {mbsync[1]:.3f} s")
    else:
        print("mbsync: not installed (apt-get install isync)")
    print(f"messages in INBOX: {count}; stored: {stored} ({total} items); contacts: {SENDERS + 1}")
    print(f"one contact's mail ({len(shown)} items): {opening * 1000:.1f} ms")
    print(f"the page of a contact with 1,000 messages, served (median of 5): {big_page * 1000:.1f} ms (goal: under 50)")
    print(f"sync with nothing new: {again:.3f} s")
    print(f"peak memory of this process: {peak:.0f} MB")
    versus = f", {first / mbsync[0]:.2f} x mbsync's first pull (goal: at most 0.5)" if mbsync else ""
    print(f"first sync of {count} messages: {first:.2f} s ({count / first:.0f} messages/s){versus}")


def _open_contact_page(app, contact_id: int) -> float:
    """The contact page as the owner's browser gets it, through the app (signed in). Each request
    runs in a context of its own, as a browser's would, not in the bench's app context."""
    client = app.test_client()

    def request(method, path, **kwargs):  # over https: the session cookie is Secure
        return contextvars.Context().run(getattr(client, method), path, base_url="https://localhost", **kwargs)

    request("post", "/login", data={"email": "olivia@lichtblick.example", "password": "a-long-password"})
    timings = []
    for _ in range(6):
        started = time.perf_counter()
        response = request("get", f"/contacts/{contact_id}")
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
    return sorted(timings[1:])[2]  # the first warms the template cache


def _warm_up(port: int, cert: Path) -> None:
    import ssl

    from imapclient import IMAPClient

    client = IMAPClient("127.0.0.1", port, ssl=True, ssl_context=ssl.create_default_context(cafile=str(cert)))
    client.login(USERNAME, PASSWORD)
    client.select_folder("INBOX", readonly=True)
    client.fetch(client.search(["ALL"]), ["FLAGS", "ENVELOPE", "BODYSTRUCTURE"])
    client.logout()


MBSYNC = """IMAPAccount bench
Host localhost
Port {port}
User {user}
Pass {password}
SSLType IMAPS
CertificateFile {cert}

IMAPStore remote
Account bench

MaildirStore local
Path {folder}/
Inbox {folder}/INBOX

Channel bench
Far :remote:
Near :local:
Patterns INBOX
Create Near
Sync Pull
SyncState *
"""


def _mbsync(work: Path, port: int, cert: Path) -> tuple[float, float] | None:
    if shutil.which("mbsync") is None:
        return None
    config = work / "mbsyncrc"
    config.write_text(MBSYNC.format(port=port, user=USERNAME, password=PASSWORD, cert=cert, folder=work / "mbsync"))
    (work / "mbsync").mkdir()
    times = []
    for _ in range(2):
        started = time.perf_counter()
        done = subprocess.run(["mbsync", "-c", str(config), "bench"], capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"mbsync failed: {done.stdout[-500:]} {done.stderr[-500:]}")
        times.append(time.perf_counter() - started)
    return times[0], times[1]


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
