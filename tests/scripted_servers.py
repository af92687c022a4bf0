"""Scripted mail servers on loopback: they speak just enough SMTP or IMAP for Test connection and
answer a recorded provider reply at the step where the provider gave it (or hang up there, or
never answer), so a reply from the corpus is replayed over a real socket, with real TLS where the
step comes after it. One connection at a time, in a thread; ``Script`` says what to do."""
from __future__ import annotations

import contextlib
import datetime
import ipaddress
import socket
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HANG_UP = None  # a Script.reply that closes the connection without a word


@dataclass
class Script:
    protocol: str  # "smtp" or "imap"
    phase: str  # connect, ehlo, tls, auth, mail_from, rcpt, data (SMTP); connect, tls, auth, select (IMAP)
    reply: str | None  # the wire reply at that step; HANG_UP closes there; "" never answers
    security: str = "starttls"  # how the server listens: "ssl" (TLS from the first byte), "starttls", "none"
    encoding: str = "utf-8"  # how the reply's words go on the wire (a server's own charset)
    offer_auth: bool = True  # False: EHLO lists no AUTH, IMAP says LOGINDISABLED (sign-in only after STARTTLS)


def certificate(folder: Path, name: str = "localhost", expired: bool = False) -> tuple[Path, Path]:
    """A self-signed certificate for ``name`` (and 127.0.0.1 when it is localhost)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = (now - datetime.timedelta(days=60), now - datetime.timedelta(days=30)) if expired else \
        (now - datetime.timedelta(days=1), now + datetime.timedelta(days=30))
    names = [x509.DNSName(name)] + ([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))] if name == "localhost" else [])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName(names), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    stem = f"{name}{'-expired' if expired else ''}"
    cert_path, key_path = folder / f"{stem}.pem", folder / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class _Conversation:
    """One client's connection: reads lines, answers by the script."""

    def __init__(self, sock: socket.socket, script: Script, tls: ssl.SSLContext, stop: threading.Event):
        self.sock, self.script, self.tls, self.stop = sock, script, tls, stop
        self.reader = sock.makefile("rb")

    def send(self, text: str) -> None:
        self.sock.sendall(text.encode(self.script.encoding, "replace"))

    def line(self) -> str:
        raw = self.reader.readline(8192)
        if not raw:
            raise ConnectionError("client left")
        return raw.decode("utf-8", "replace").rstrip("\r\n")

    def start_tls(self) -> None:
        self.sock = self.tls.wrap_socket(self.sock, server_side=True)
        self.reader = self.sock.makefile("rb")

    def scripted(self, phase: str) -> bool:
        """At the scripted step: answer the recorded reply (or hang up, or stay silent) and say
        True. A server goes on talking after a refusal, except after 421 or BYE."""
        if phase != self.script.phase:
            return False
        if self.script.reply == "":
            self.stop.wait(60)  # never answers: the client's own deadline ends it, or the server's end
        if self.script.reply is HANG_UP or self.script.reply == "":
            raise ConnectionError("scripted end")
        reply = self.reply_lines()
        self.send(reply)
        if reply.startswith("421") or "* BYE" in reply or phase == "connect":
            raise ConnectionError("scripted end")
        return True

    def reply_lines(self) -> str:
        return _smtp_reply(self.script.reply) if self.script.protocol == "smtp" else _imap_reply(self.script.reply, self.tag)

    tag = "*"


def _smtp_reply(text: str) -> str:
    """A recorded reply as SMTP lines: "550-first\r\n550 last\r\n" (the code on every line)."""
    lines = [line.strip() for line in text.replace("\\n", "\n").splitlines() if line.strip()]
    code = lines[0][:3] if lines[0][:3].isdigit() else "450" if lines[0].startswith("4.") else "550"
    words = [line[4:] if line[:3] == code else line for line in lines]
    return "".join(f"{code}{'-' if i < len(words) - 1 else ' '}{w}\r\n" for i, w in enumerate(words))


def _imap_reply(text: str, tag: str) -> str:
    """A recorded IMAP answer: untagged lines as they were; the last line carries the command's tag
    (a bare "NO ..." or "BAD ..." gets it; "* BYE" stays untagged, and the server hangs up)."""
    lines = [line.strip() for line in text.replace("\\n", "\n").splitlines() if line.strip()]
    last = lines[-1]
    if not last.startswith("* BYE"):
        words = last.split(" ", 2)
        if words[0] == "*" or len(words) > 1 and words[1] in ("NO", "BAD", "OK"):  # untagged, or the log's tag
            last = last.split(" ", 1)[1]
        if last.split(" ", 1)[0] not in ("NO", "BAD", "BYE"):
            last = f"NO {last}"
        last = f"{tag} {last}"
    return "".join(f"{line}\r\n" for line in [*lines[:-1], last])


def _smtp(c: _Conversation) -> None:
    if not c.scripted("connect"):
        c.send("220 scripted.example ESMTP\r\n")
    tls_on = c.script.security == "ssl"
    while True:
        verb = c.line().split(" ", 1)[0].upper()
        if verb in ("EHLO", "HELO"):
            if c.scripted("ehlo"):
                continue
            starttls = "250-STARTTLS\r\n" if c.script.security == "starttls" and not tls_on else ""
            auth = "250-AUTH PLAIN LOGIN\r\n" if c.script.offer_auth else ""
            c.send(f"250-scripted.example\r\n{starttls}{auth}250 8BITMIME\r\n")
        elif verb == "STARTTLS":
            if not c.scripted("tls"):
                c.send("220 2.0.0 Ready to start TLS\r\n")
                c.start_tls()
                tls_on = True
        elif verb == "AUTH":
            if not c.scripted("auth"):
                c.send("235 2.7.0 Authentication successful\r\n")
        elif verb == "MAIL":
            if not c.scripted("mail_from"):
                c.send("250 2.1.0 Ok\r\n")
        elif verb == "RCPT":
            if not c.scripted("rcpt"):
                c.send("250 2.1.5 Ok\r\n")
        elif verb == "DATA":
            c.send("354 End data with <CR><LF>.<CR><LF>\r\n")
            while c.line() != ".":
                pass
            if not c.scripted("data"):
                c.send("250 2.0.0 Ok: queued\r\n")
        elif verb == "QUIT":
            c.send("221 2.0.0 Bye\r\n")
            return
        else:
            c.send("250 2.0.0 Ok\r\n")


def _imap(c: _Conversation) -> None:
    # Without sign-in on offer, IMAP's way: no LOGIN before STARTTLS (RFC 3501 6.2.3)
    capabilities = "IMAP4rev1 STARTTLS " + ("AUTH=PLAIN" if c.script.offer_auth else "LOGINDISABLED")
    if not c.scripted("connect"):
        c.send(f"* OK [CAPABILITY {capabilities}] scripted ready\r\n")
    while True:
        tag, _, rest = c.line().partition(" ")
        command = rest.split(" ", 1)[0].upper()
        c.tag = tag
        if command == "CAPABILITY":
            c.send(f"* CAPABILITY {capabilities}\r\n{tag} OK done\r\n")
        elif command == "STARTTLS":
            if not c.scripted("tls"):
                c.send(f"{tag} OK Begin TLS negotiation now\r\n")
                c.start_tls()
                capabilities = "IMAP4rev1 AUTH=PLAIN"  # encrypted now: sign-in on offer
        elif command in ("LOGIN", "AUTHENTICATE"):
            if not c.scripted("auth"):
                c.send(f"{tag} OK [CAPABILITY IMAP4rev1] Logged in\r\n")
        elif command == "LIST":
            c.send(f'* LIST (\\HasNoChildren) "/" INBOX\r\n* LIST (\\HasNoChildren \\Sent) "/" Sent\r\n{tag} OK done\r\n')
        elif command in ("SELECT", "EXAMINE"):
            if not c.scripted("select"):
                c.send(f"* 3 EXISTS\r\n* OK [UIDVALIDITY 1] ok\r\n{tag} OK [READ-ONLY] done\r\n")
        elif command == "LOGOUT":
            c.send(f"* BYE bye\r\n{tag} OK done\r\n")
            return
        else:
            c.send(f"{tag} OK done\r\n")


@contextlib.contextmanager
def scripted_server(script: Script, cert: tuple[Path, Path], address: str = "127.0.0.1", port: int = 0):
    """Serve ``script`` on ``address`` (a free port unless given) until the block ends; yields the port."""
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(*cert)
    listener = socket.create_server((address, port))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                sock, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=_serve_one, args=(sock, script, tls, stop), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        # close() alone leaves the port listening while serve() is blocked in accept(); a
        # later replay that draws the same address would find it taken. shutdown() wakes it.
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)
        listener.close()


def _serve_one(sock: socket.socket, script: Script, tls: ssl.SSLContext, stop: threading.Event) -> None:
    try:
        if script.phase == "connect" and script.reply == "":
            stop.wait(60)  # silent from the first byte: not even a TLS hello
            return
        if script.security == "ssl":
            sock = tls.wrap_socket(sock, server_side=True)
        (_smtp if script.protocol == "smtp" else _imap)(_Conversation(sock, script, tls, stop))
    except (OSError, ssl.SSLError, ConnectionError):
        pass
    finally:
        with contextlib.suppress(OSError):
            sock.close()


@contextlib.contextmanager
def dropping_port(address: str = "127.0.0.1", port: int = 0):
    """A port whose SYNs go unanswered, as behind a firewall that drops packets: a listener with a
    backlog of 0, filled by connections nobody accepts; further connects hang until their timeout.
    Yields the port."""
    listener = socket.create_server((address, port), backlog=0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect((address, port))
        fillers.append(filler)
    try:
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()
