"""Dovecot on loopback for the tests: a private configuration in a temporary folder, a
passwd-file user, a generated certificate, IMAP (STARTTLS) and IMAPS ports; Debian's
dovecot-imapd (.ci/run installs it)."""
from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from pathlib import Path

from .mailservers import PASSWORD, USERNAME, free_port

CONFIG = """
base_dir = {folder}/run
state_dir = {folder}/state
log_path = {folder}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
ssl_dh = </usr/share/dovecot/dh.pem
disable_plaintext_auth = yes
auth_mechanisms = plain login
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {folder}/users
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={folder}/home/%u
}}
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  mailbox Gesendet {{
    special_use = \\Sent
    auto = create
  }}
  mailbox Papierkorb {{
    special_use = \\Trash
    auto = create
  }}
}}
first_valid_uid = 1
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""


OAUTH2 = """
auth_mechanisms = plain login xoauth2 oauthbearer
passdb {{
  driver = oauth2
  args = {folder}/oauth2.conf.ext
}}
"""
OAUTH2_ARGS = """introspection_mode = post
introspection_url = {url}
username_attribute = username
active_attribute = active
active_value = true
"""


@contextlib.contextmanager
def dovecot(folder: Path, cert: Path, key: Path, introspection_url: str = "", username: str = USERNAME):
    """Yields (starttls_port, ssl_port); the user USERNAME/PASSWORD has an INBOX with one message,
    a "Sent" folder without a special-use flag, and "Gesendet" and "Papierkorb" flagged \\Sent and
    \\Trash (RFC 6154), named as German providers name them. With ``introspection_url``, the user
    signs in with XOAUTH2 too: Dovecot asks that endpoint whether the token is good (RFC 7662)."""
    binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
    imap, imaps = free_port(), free_port()
    (folder / "users").write_text(f"{username}:{{PLAIN}}{PASSWORD}\n")
    inbox = folder / "home" / username / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (inbox / sub).mkdir(parents=True, exist_ok=True)
    (inbox / "new" / "1.test:2,").write_text("From: a@example.com\r\nSubject: Hello\r\n\r\nHi\r\n")
    for sub in ("cur", "new", "tmp"):  # a second folder, "Sent" (Maildir++)
        (inbox / ".Sent" / sub).mkdir(parents=True, exist_ok=True)
    shutil.chown(folder / "home", "dovecot", "dovecot")
    for path in (folder / "home").rglob("*"):
        shutil.chown(path, "dovecot", "dovecot")
    config = folder / "dovecot.conf"
    config.write_text(CONFIG.format(folder=folder, cert=cert, key=key, imap=imap, imaps=imaps)
                      + (OAUTH2.format(folder=folder) if introspection_url else ""))
    if introspection_url:
        (folder / "oauth2.conf.ext").write_text(OAUTH2_ARGS.format(url=introspection_url))
    process = subprocess.Popen([binary, "-F", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_for(imaps, process, folder)
        yield imap, imaps
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_for(port: int, process: subprocess.Popen, folder: Path) -> None:
    for _ in range(200):
        if process.poll() is not None:
            log = (folder / "dovecot.log").read_text() if (folder / "dovecot.log").exists() else ""
            raise RuntimeError(f"dovecot stopped: {process.stderr.read().decode()} {log}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("dovecot did not start")
