"""Replay a recorded mail failure through Test connection: a scripted server on loopback answers
the provider's reply at the step where it came (or fails the way the network did), and the
settings page's own check (``mailcheck``) diagnoses it. Used by the corpus test and
``bench/diagnostics.py``.

A corpus entry (JSON): protocol, phase, provider, code, text (the wire reply), condition (for a
failure that is no reply: refused, silent, drops, dns, plain_to_tls_port, tls_to_plain_port,
self_signed_cert, expired_cert, wrong_hostname_cert, closed_without_reply, auth_not_advertised), port and security
where the source says them, cause (the right one), source."""
from __future__ import annotations

import contextlib
import ipaddress
import json
import random
import re
import ssl
from pathlib import Path

from shutterbell import mailcheck, netguard

from .scripted_servers import HANG_UP, Script, certificate, dropping_port, scripted_server

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "data" / "mail_failures_corpus.jsonl"
SHARED = HERE.parents[1] / "shared" / "fixtures" / "mail_failures.jsonl"
SENDER, RECIPIENT = "studio@lichtblick.example", "kunde@example.org"

# The host a studio would enter for each provider: the app only knows the host, and the
# diagnostics may read it (iCloud and Microsoft mean something specific by a plain refusal).
_HOSTS = (("gmail", "gmail.com"), ("google", "gmail.com"), ("microsoft", "office365.com"),
          ("exchange", "office365.com"), ("outlook", "office365.com"), ("hotmail", "office365.com"),
          ("icloud", "mail.me.com"), ("yahoo", "mail.yahoo.com"), ("aol", "aol.com"), ("zoho", "zoho.eu"),
          ("gmx", "gmx.net"), ("web.de", "web.de"), ("t-online", "t-online.de"), ("ionos", "ionos.de"),
          ("strato", "strato.de"), ("ovh", "mail.ovh.net"), ("orange", "orange.fr"), ("fastmail", "fastmail.com"))
_DEFAULT_SECURITY = {"smtp": "starttls", "imap": "ssl"}
_PORTS = {("smtp", "ssl"): 465, ("smtp", "starttls"): 587, ("smtp", "none"): 25,
          ("imap", "ssl"): 993, ("imap", "starttls"): 143, ("imap", "none"): 143}


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def names(label: str, key: str) -> bool:
    """Whether a diagnosis (its cause's key) names a corpus entry's cause. The corpora label a
    message refused for itself (spam, size, a missing subject) "other", as their gatherers were
    told; the module names that kind of "other" apart, to say what to do about it."""
    return key == label or (label, key) == ("other", "message_refused")


def host_for(entry: dict) -> str:
    provider = entry["provider"].lower()
    if re.search(r"on-?prem|self-hosted", provider):  # a company's own server, by its own name
        return f"{entry['protocol']}.mail.example.net"
    domain = next((host for key, host in _HOSTS if key in provider), "mail.example.net")
    if domain == "office365.com":
        return "smtp.office365.com" if entry["protocol"] == "smtp" else "outlook.office365.com"
    return f"{entry['protocol']}.{domain}"


def loopback_address() -> str:
    """An address of its own in 127.0.0.0/8, so a replay can listen on the provider's real port
    (465, 993, ...) beside other replays running at the same time."""
    return str(ipaddress.IPv4Address("127.0.0.0") + random.randrange(2, 2**24 - 1))


@contextlib.contextmanager
def provider_names_on(address: str):
    """Every host name resolves to ``address`` (the DNS a replay needs); a name ending in
    .invalid still does not exist."""
    real = netguard.lookup

    def lookup(host, port, **kwargs):
        if host.endswith(".invalid"):
            return real(host, port, **kwargs)
        return real(address, port, **kwargs)

    netguard.lookup = lookup
    try:
        yield
    finally:
        netguard.lookup = real


def replay(entry: dict, folder: Path, timeout: float = 3.0) -> mailcheck.CheckResult:
    """Run Test connection against a server scripted after ``entry``; the result's diagnosis."""
    protocol, condition = entry["protocol"], entry.get("condition")
    server_security = client_security = entry.get("security") or _DEFAULT_SECURITY[protocol]
    host = host_for(entry)
    cert, trusted = certificate(folder, host), True
    script = Script(protocol, entry["phase"], _reply_of(entry), server_security, entry.get("encoding", "utf-8"))
    if condition in (None, "closed_without_reply") and server_security == "ssl" and entry["phase"] == "tls":
        script.security = client_security = "starttls"  # a reply to STARTTLS needs a STARTTLS port
    elif condition == "auth_not_advertised":
        script.phase, script.offer_auth = "none", False
    elif condition == "silent":
        script = Script(protocol, "connect", "", server_security)
    elif condition == "plain_to_tls_port":
        script.phase, script.security = "none", "ssl"
        client_security = "starttls" if client_security == "ssl" else client_security
    elif condition == "tls_to_plain_port":
        script.phase, script.security, client_security = "none", "starttls", "ssl"
    elif condition in ("self_signed_cert", "expired_cert", "wrong_hostname_cert"):
        script.phase = "none"
        if condition == "self_signed_cert":
            trusted = False
        else:
            cert = certificate(folder, host if condition == "expired_cert" else "other.example",
                               expired=condition == "expired_cert")
    address = loopback_address()
    port = entry.get("port") or _PORTS[protocol, script.security if condition == "plain_to_tls_port" else
                                      client_security if condition != "tls_to_plain_port" else "starttls"]
    with _listening(condition, script, cert, address, port), provider_names_on(address):
        if condition == "dns":
            host = f"{protocol}.no-such-provider.invalid"
        context = ssl.create_default_context(cafile=str(cert[0])) if trusted else ssl.create_default_context()
        return _check(protocol, host, port, client_security, entry["phase"], context, timeout)


def _reply_of(entry: dict) -> str | None:
    if entry.get("condition") == "closed_without_reply":
        return HANG_UP
    text = entry["text"]
    if entry["protocol"] == "smtp" and entry.get("code") and not text.lstrip()[:3].isdigit():
        text = f"{entry['code']} {text}"
    return text


@contextlib.contextmanager
def _listening(condition: str | None, script: Script, cert, address: str, port: int):
    if condition == "refused":
        yield  # nothing listens on that address
    elif condition == "drops":
        with dropping_port(address, port):
            yield
    else:
        with scripted_server(script, cert, address, port):
            yield


def _check(protocol: str, host: str, port: int, security: str, phase: str, context, timeout: float):
    if protocol == "smtp":
        settings = mailcheck.SmtpSettings(host, port, security, "studio", "geheim", SENDER)
        send_to = RECIPIENT if phase in ("rcpt", "data") else ""
        return mailcheck.check_smtp(settings, timeout, context, send_to, allow_private=True)
    settings = mailcheck.ImapSettings(host, port, security, "studio", "geheim")
    return mailcheck.check_imap(settings, timeout, context, allow_private=True)
