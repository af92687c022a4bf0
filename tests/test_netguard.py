"""The guard against private addresses: an instance that hosts several studios does not let a
studio's "mail server" be the instance's own network. The name is resolved once, every address
is checked, and the connection goes to the checked address with the name kept for TLS."""
import socket

import pytest

from shutterbell import mailcheck, netguard
from shutterbell.extensions import db
from shutterbell.models import Studio

from .conftest import text_of
from .mailservers import PASSWORD, SENDER, USERNAME


class Dns:
    """DNS answers for the test: each name maps to a list of answers, one per lookup (the last repeats)."""

    def __init__(self, monkeypatch, **names):
        self.names = {name.replace("_", "."): answers for name, answers in names.items()}
        self.asked: list[str] = []
        monkeypatch.setattr(netguard, "lookup", self)

    def __call__(self, host, port, type=0):
        self.asked.append(host)
        answers = self.names[host]
        addresses = answers.pop(0) if len(answers) > 1 else answers[0]
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                for a in addresses]


@pytest.mark.parametrize("addresses", [["10.0.0.5"], ["203.0.113.7", "192.168.1.2"], ["127.0.0.1"],
                                       ["169.254.169.254"], ["100.64.0.1"], ["::ffff:127.0.0.1"], ["fd00::1"],
                                       ["::1"], ["64:ff9b::a00:1"], ["2002:a00:1::1"], ["::7f00:1"]])
def test_every_non_public_address_is_refused(monkeypatch, addresses):
    Dns(monkeypatch, mail_example_com=[addresses])
    with pytest.raises(netguard.ForbiddenAddress):
        netguard.resolve("mail.example.com", 587, allow_private=False)
    assert netguard.resolve("mail.example.com", 587, allow_private=True) == addresses


def test_public_addresses_pass():
    assert netguard.is_public("8.8.8.8") and netguard.is_public("2a00:1450:4001:80b::200e")
    assert netguard.is_public("64:ff9b::808:808")  # NAT64 to a public address


def smtp_settings(host, port):
    return mailcheck.SmtpSettings(host, port, "starttls", USERNAME, PASSWORD, SENDER)


def test_a_forbidden_server_is_never_contacted(bare_ctx, server, certificate):
    mailbox, port = server
    import ssl
    context = ssl.create_default_context(cafile=str(certificate[0]))
    result = mailcheck.check_smtp(smtp_settings("127.0.0.1", port), timeout=3, context=context, allow_private=False)
    assert result.diagnosis.key == "private_address" and result.steps[-1].name == "connect"
    assert "private or local address" in result.diagnosis.detail and mailbox.greetings == 0


def test_the_connection_goes_to_the_checked_address_and_tls_checks_the_name(bare_ctx, server, certificate,
                                                                            monkeypatch):
    import ssl
    mailbox, port = server
    context = ssl.create_default_context(cafile=str(certificate[0]))
    # The second answer would point elsewhere (a rebinding DNS server): nobody asks for it.
    dns = Dns(monkeypatch, localhost=[["127.0.0.1"], ["203.0.113.9"]], mail_rebind_test=[["127.0.0.1"]])
    result = mailcheck.check_smtp(smtp_settings("localhost", port), timeout=3, context=context, allow_private=True)
    assert result.ok, result.as_dict()
    assert dns.asked == ["localhost"]
    # The certificate is for "localhost": a different name fails TLS even on the same address.
    other = mailcheck.check_smtp(smtp_settings("mail.rebind.test", port), timeout=3, context=context,
                                 allow_private=True)
    assert other.diagnosis.key == "certificate_hostname_mismatch"


def test_imap_is_guarded_too(bare_ctx, imap_ports, certificate, monkeypatch):
    import ssl
    context = ssl.create_default_context(cafile=str(certificate[0]))
    settings = mailcheck.ImapSettings("localhost", imap_ports[1], "ssl", USERNAME, PASSWORD)
    dns = Dns(monkeypatch, localhost=[["127.0.0.1"], ["203.0.113.9"]])
    assert mailcheck.check_imap(settings, timeout=3, context=context, allow_private=True).ok
    assert dns.asked == ["localhost"]
    refused = mailcheck.check_imap(settings, timeout=3, context=context, allow_private=False)
    assert refused.diagnosis.key == "private_address"


def test_private_servers_are_allowed_while_the_instance_holds_one_studio(configure, app, as_olivia, olivia, smtp_port,
                                                                         certificate, monkeypatch):
    configure(mail_ca_file=str(certificate[0]))
    configure(mail_private_hosts="auto")
    form = {"preset": "", "host": "127.0.0.1", "port": str(smtp_port), "security": "starttls",
            "username": USERNAME, "password": PASSWORD, "from_address": SENDER, "sender_name": "", "reply_to": ""}
    assert db.session.scalar(db.select(db.func.count()).select_from(Studio)) == 1
    assert "Connection works" in text_of(as_olivia.post("/settings/email/smtp/test", form, htmx=True))
    db.session.add(Studio(name="Another studio", time_zone="Europe/Berlin"))
    db.session.commit()
    page = text_of(as_olivia.post("/settings/email/smtp/test", form, htmx=True))
    assert "The test failed" in page and "private network" in page
    configure(mail_private_hosts="allow")
    assert "Connection works" in text_of(as_olivia.post("/settings/email/smtp/test", form, htmx=True))
    configure(mail_private_hosts="forbid")
    db.session.delete(db.session.scalar(db.select(Studio).where(Studio.name == "Another studio")))
    db.session.commit()
    assert "private network" in text_of(as_olivia.post("/settings/email/smtp/test", form, htmx=True))
