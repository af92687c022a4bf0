"""A DNS server on loopback for the deliverability check (dnslib): TXT records per name, an
empty answer for a name that exists without them, NXDOMAIN for a name that does not exist."""
from __future__ import annotations

import contextlib
import socket

import dns.resolver
from dnslib import QTYPE, RCODE, RR, TXT
from dnslib.server import BaseResolver, DNSLogger, DNSServer


class Zone(BaseResolver):
    def __init__(self):
        self.records: dict[str, list[str]] = {}

    def txt(self, name: str, *texts: str) -> None:
        self.records.setdefault(name.lower(), []).extend(texts)

    def resolve(self, request, handler):
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        if name not in self.records:
            reply.header.rcode = RCODE.NXDOMAIN
        elif request.q.qtype == QTYPE.TXT:
            for text in self.records[name]:
                reply.add_answer(RR(name, QTYPE.TXT, rdata=TXT(text), ttl=60))
        return reply


@contextlib.contextmanager
def dns_server():
    """Yields (zone, resolver): a dnspython resolver that asks only this server."""
    zone = Zone()
    server = DNSServer(zone, port=0, address="127.0.0.1", logger=DNSLogger("-request,-reply,-truncated,-error,-recv,-send,-data"))
    server.start_thread()
    try:
        yield zone, resolver_for(server.server.server_address[1])
    finally:
        server.stop()


def resolver_for(port: int) -> dns.resolver.Resolver:
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers, resolver.port = ["127.0.0.1"], port
    return resolver


@contextlib.contextmanager
def silent_dns():
    """A resolver pointed at a UDP port that never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield resolver_for(sock.getsockname()[1])
    finally:
        sock.close()
