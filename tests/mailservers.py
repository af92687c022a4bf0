"""Real mail servers on loopback for the tests: aiosmtpd with AUTH and STARTTLS, a certificate
made on the spot, and a server that accepts connections and never says a word."""
from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import socket
import ssl
import threading
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

USERNAME, PASSWORD, SENDER = "studio", "app-password-1234", "studio@lichtblick.example"


def make_certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class _Handler:
    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if address != SENDER:
            return "553 5.7.1 <%s>: Sender address rejected: not owned by user %s" % (address, USERNAME)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"


def _authenticate(server, session, envelope, mechanism, auth_data):
    good = isinstance(auth_data, LoginPassword) and auth_data.login == USERNAME.encode() \
        and auth_data.password == PASSWORD.encode()
    return AuthResult(success=good, handled=False)  # handled=False: aiosmtpd answers 535 itself


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox(_Handler):
    """Keeps what it receives, and answers what a test scripts: a reply per recipient (a list is
    used up one reply per attempt), and a password that can change mid-test."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.received: list[bytes] = []
        self.rcpt_replies: dict[str, list[str]] = {}
        self.mail_reply: str | None = None  # the answer to every MAIL FROM, while set
        self.password = PASSWORD
        self.greetings = 0  # EHLOs seen: a client that never got here never connected
        self.revoke_after: int | None = None  # after this many messages the password stops working
        self.offer_8bitmime = True  # False: an old server that takes 7-bit mail only (RFC 6152 unsupported)
        self.mail_options: list[list[str]] = []  # MAIL FROM parameters, per message received
        self.data_delay = 0.0  # seconds before each message is taken: a slow provider
        self.size_limit: int | None = None  # bytes: a larger SIZE= at MAIL FROM is refused, as Postfix does
        self.data_reply: str | None = None  # the answer to every message's data, while set

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.revoke_after is not None and len(self.received) >= self.revoke_after:
            self.password = "changed-at-the-provider"  # and a new sign-in fails too
            return "535 5.7.8 Authentication credentials invalid"
        if self.mail_reply:
            return self.mail_reply
        size = next((int(option[5:]) for option in mail_options if option.upper().startswith("SIZE=")), 0)
        if self.size_limit is not None and size > self.size_limit:
            return "552 5.3.4 Message size exceeds fixed limit"
        return await super().handle_MAIL(server, session, envelope, address, mail_options)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.greetings += 1
        session.host_name = hostname
        return [line for line in responses if self.offer_8bitmime or "8BITMIME" not in line]

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        replies = self.rcpt_replies.get(address)
        if replies:
            return replies.pop(0) if len(replies) > 1 else replies[0]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if not self.offer_8bitmime and not envelope.original_content.isascii():
            return "554 5.6.1 Message contains 8-bit data the server did not offer to take"
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        if self.data_reply:
            return self.data_reply
        self.received.append(envelope.original_content)
        self.mail_options.append(list(envelope.mail_options))
        return "250 OK: queued"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        good = isinstance(auth_data, LoginPassword) and auth_data.login == USERNAME.encode() \
            and auth_data.password == self.password.encode()
        return AuthResult(success=good, handled=False)


@contextlib.contextmanager
def submission_server(cert_path: Path, key_path: Path, handler: _Handler | None = None):
    """Like a provider's port 587: STARTTLS required before AUTH; yields the port."""
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert_path, key_path)
    port = free_port()
    handler = handler or _Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=port, tls_context=tls, require_starttls=True,
                            authenticator=getattr(handler, "authenticate", _authenticate), auth_require_tls=True,
                            auth_exclude_mechanism=["CRAM-MD5"])
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@contextlib.contextmanager
def silent_server():
    """Accepts connections and never answers (what plain SMTP meets on an SSL-only port)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


@contextlib.contextmanager
def greeting_server(greeting: str):
    """Greets each connection with one line and says nothing more: another protocol's server."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()

        def greet():
            while True:
                try:
                    connection, _ = listener.accept()
                except OSError:  # the listener closed
                    return
                connection.sendall(greeting.encode() + b"\r\n")
                connection.settimeout(5)
                with contextlib.suppress(OSError), connection:
                    connection.recv(1024)

        threading.Thread(target=greet, daemon=True).start()
        yield listener.getsockname()[1]
