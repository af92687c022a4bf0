"""Which addresses a studio's mail settings may reach, and connections that go exactly there.

A self-hosted instance may reach private addresses (the studio's mail server can sit on the LAN).
An instance that hosts other people's studios must not let a studio point "its mail server" at
the instance's own network (``MAIL_PRIVATE_HOSTS``). The name is resolved once, every address is
checked, and the connection goes to a checked address while the name stays for TLS: a DNS answer
that changes between the check and the connection cannot slip past.
"""
from __future__ import annotations

import imaplib
import ipaddress
import smtplib
import socket
import ssl
import time

from imapclient import IMAPClient, imap4, tls

lookup = socket.getaddrinfo  # DNS; the tests put their own answers here


class ForbiddenAddress(OSError):
    """The host resolves to a private, loopback or otherwise non-public address."""


class ConnectTimeout(TimeoutError):
    """No connection was made in time (a firewall dropping packets), as against a server that
    took the connection and then kept silent."""


def resolve(host: str, port: int, allow_private: bool) -> list[str]:
    """The host's addresses, each checked unless private ones are allowed."""
    answers = lookup(host, port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(answer[4][0] for answer in answers))
    if not allow_private:
        for address in addresses:
            if not is_public(address):
                raise ForbiddenAddress(f"{host} resolves to {address}, a private or local address.")
    return addresses


NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def is_public(address: str) -> bool:
    """A global unicast address; an IPv6 address that carries an IPv4 one (mapped, NAT64, 6to4,
    Teredo, IPv4-compatible) is judged by that IPv4 address too."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if not ip.is_global or ip.is_multicast:
        return False
    embedded = _embedded_ipv4(ip) if ip.version == 6 else None
    return embedded is None or is_public(str(embedded))


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped or ip.sixtofour:
        return ip.ipv4_mapped or ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]  # the client behind the relay
    if any(ip in network for network in NAT64) or ip in IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def connect(addresses: list[str], port: int, timeout: float | None, source=None,
            deadline: float | None = None) -> socket.socket:
    """Like socket.create_connection, over already-checked addresses: the first that answers.
    ``deadline`` (time.monotonic()): no attempt, and no wait on the socket, outlasts it."""
    error: OSError | None = None
    for address in addresses:
        try:
            sock = socket.create_connection((address, port), time_left(timeout, deadline), source)
        except TimeoutError:
            error = ConnectTimeout(f"Connecting to port {port} timed out.")
            continue
        except OSError as exc:
            error = exc
            continue
        sock.settimeout(time_left(timeout, deadline))
        return sock
    raise error or OSError(f"No address to connect to on port {port}.")


def time_left(timeout: float | None, deadline: float | None) -> float | None:
    """A step's wait: ``timeout``, but never past ``deadline`` (at least a moment, so a step
    that is due fails with a timeout rather than never starting)."""
    if deadline is None:
        return timeout
    left = max(0.05, deadline - time.monotonic())
    return left if timeout is None else min(timeout, left)


class PinnedSMTP(smtplib.SMTP):
    def __init__(self, host: str, port: int, addresses: list[str], timeout: float, deadline: float | None = None):
        self._addresses, self._deadline = addresses, deadline
        super().__init__(host, port, timeout=timeout)

    def _get_socket(self, host, port, timeout):
        return connect(self._addresses, port, timeout, self.source_address, self._deadline)


class PinnedSMTP_SSL(smtplib.SMTP_SSL):
    def __init__(self, host: str, port: int, addresses: list[str], timeout: float, context: ssl.SSLContext,
                 deadline: float | None = None):
        self._addresses, self._deadline = addresses, deadline
        super().__init__(host, port, timeout=timeout, context=context)

    def _get_socket(self, host, port, timeout):
        sock = connect(self._addresses, port, timeout, self.source_address, self._deadline)
        return self.context.wrap_socket(sock, server_hostname=self._host)  # the name, for the certificate


class PinnedIMAPClient(IMAPClient):
    def __init__(self, host: str, port: int, addresses: list[str], use_ssl: bool, ssl_context: ssl.SSLContext,
                 timeout: float, deadline: float | None = None):
        self._addresses, self._deadline = addresses, deadline
        super().__init__(host, port, ssl=use_ssl, ssl_context=ssl_context, timeout=timeout)

    def _create_IMAP4(self) -> imaplib.IMAP4:  # IMAPClient's own factory, with our sockets
        timeout = getattr(self._timeout, "connect", None)
        if self.ssl:
            return _PinnedIMAP4TLS(self.host, self.port, self._addresses, self.ssl_context, timeout, self._deadline)
        return _PinnedIMAP4(self.host, self.port, self._addresses, timeout, self._deadline)


class _PinnedIMAP4(imap4.IMAP4WithTimeout):
    def __init__(self, host: str, port: int, addresses: list[str], timeout: float | None, deadline: float | None):
        self._addresses, self._deadline = addresses, deadline
        super().__init__(host, port, timeout)

    def _create_socket(self, timeout=None):
        return connect(self._addresses, self.port, timeout if timeout is not None else self._timeout,
                       deadline=self._deadline)

    def _simple_command(self, name, *args):
        typ, data = super()._simple_command(name, *args)
        if name == "STARTTLS" and typ != "OK":  # imaplib's starttls drops the server's words: keep them
            raise self.error(f"STARTTLS refused: {typ} {data}")  # quoted bytes: diagnostics reads them as meant
        return typ, data


class _PinnedIMAP4TLS(tls.IMAP4_TLS):
    def __init__(self, host: str, port: int, addresses: list[str], context: ssl.SSLContext, timeout: float | None,
                 deadline: float | None):
        self._addresses, self._deadline = addresses, deadline
        super().__init__(host, port, context, timeout)

    def _create_socket(self, timeout=None):
        sock = connect(self._addresses, self.port, timeout if timeout is not None else self._timeout,
                       deadline=self._deadline)
        return tls.wrap_socket(sock, self.ssl_context, self.host)  # the name, for the certificate
