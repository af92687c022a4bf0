"""Test connection for SMTP, against a real server on loopback (aiosmtpd: STARTTLS, then AUTH)."""
import json
import ssl

import pytest

from shutterbell import mailcheck
from shutterbell.mailcheck import SmtpSettings

from .mailservers import PASSWORD, SENDER, USERNAME, free_port, greeting_server, silent_server


def check_smtp(*args, **kwargs):
    return mailcheck.check_smtp(*args, allow_private=True, **kwargs)  # the test servers are on loopback


@pytest.fixture
def trusting(certificate):
    """A client that trusts the test certificate, as it would trust a real provider's."""
    return ssl.create_default_context(cafile=str(certificate[0]))


def settings(port, **overrides):
    values = {"host": "127.0.0.1", "port": port, "security": "starttls", "username": USERNAME,
              "password": PASSWORD, "from_address": SENDER, **overrides}
    return SmtpSettings(**values)


@pytest.mark.parametrize("security", ["none", "starttls"])
def test_the_sending_server_s_port_typed_in_as_the_inbox_s_and_the_other_way_round(bare_ctx, smtp_port, imap_ports,
                                                                                   trusting, security):
    """A real SMTP server (aiosmtpd) asked for an inbox, and Dovecot asked to send: each says
    which kind of server answers there (it was "an error we do not know")."""
    inbox = mailcheck.check_imap(mailcheck.ImapSettings("127.0.0.1", smtp_port, security, USERNAME, PASSWORD),
                                 timeout=3, context=trusting, allow_private=True)
    assert inbox.diagnosis.key == "wrong_service", inbox.as_dict()
    assert "not an inbox (IMAP) server" in str(inbox.diagnosis.hint)
    sending = check_smtp(settings(imap_ports[0], security=security, from_address="büro@lichtblick.example"),
                         timeout=3, context=trusting)
    assert sending.diagnosis.key == "wrong_service", sending.as_dict()
    assert "not a sending (SMTP) server" in str(sending.diagnosis.hint)


@pytest.mark.parametrize("greeting", ["* OK Gimap ready for requests from 203.0.113.7 q1mb", "+OK Dovecot ready.",
                                      "* OK IMAP server ready (Grüße aus Łódź)"])
def test_an_inbox_servers_greeting_where_sending_was_asked_for(bare_ctx, greeting):
    """Gmail's IMAP greeting names no protocol; POP3's has no reply code: neither is SMTP's."""
    with greeting_server(greeting) as port:
        result = check_smtp(settings(port, security="none"), timeout=3)
    assert result.diagnosis.key == "wrong_service", result.as_dict()


@pytest.mark.parametrize("greeting", ["+OK Dovecot ready.", "220 smtp.lichtblick.example ESMTP Postfix (Debian/GNU)"])
def test_a_pop3_or_smtp_greeting_where_the_inbox_was_asked_for(bare_ctx, greeting):
    with greeting_server(greeting) as port:
        result = mailcheck.check_imap(mailcheck.ImapSettings("127.0.0.1", port, "none", USERNAME, PASSWORD),
                                      timeout=3, allow_private=True)
    assert result.diagnosis.key == "wrong_service", result.as_dict()


def test_good_settings_pass_every_step_and_send_nothing(bare_ctx, smtp_port, trusting):
    result = check_smtp(settings(smtp_port), context=trusting)
    assert result.ok, result.as_dict()
    assert [s.name for s in result.steps] == ["connect", "ehlo", "starttls", "auth", "mail_from"]


@pytest.mark.parametrize("overrides, cause, failed_step", [
    ({"password": "not-the-password-987"}, "wrong_password", "auth"),
    ({"security": "none"}, "starttls_required", "auth"),  # AUTH is not offered before STARTTLS
    ({"from_address": "someone@else.example"}, "sender_rejected", "mail_from"),
    ({"security": "ssl"}, "tls_mode_mismatch", "connect"),  # SSL spoken to a STARTTLS port
])
def test_each_mistake_gets_its_cause(bare_ctx, smtp_port, trusting, overrides, cause, failed_step):
    result = check_smtp(settings(smtp_port, **overrides), timeout=3, context=trusting)
    assert result.diagnosis.key == cause, result.as_dict()
    assert result.steps[-1].name == failed_step and not result.steps[-1].ok
    shown = json.dumps(result.as_dict())
    assert PASSWORD not in shown and "not-the-password-987" not in shown  # passwords never shown


def test_a_certificate_nobody_vouches_for(bare_ctx, smtp_port):
    assert check_smtp(settings(smtp_port)).diagnosis.key == "certificate_untrusted"


def test_nothing_listening_and_a_server_that_never_answers(bare_ctx):
    assert check_smtp(settings(free_port())).diagnosis.key == "connection_refused"
    with silent_server() as port:  # takes the connection, never greets: a firewall in the way, not TLS
        result = check_smtp(settings(port), timeout=1)
    assert result.diagnosis.key == "timeout" and "port 25" in str(result.diagnosis.hint)


def test_the_cli_reads_the_password_from_stdin_and_prints_json(bare_app, smtp_port, certificate, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))  # the CLI uses the system's trust store
    runner = bare_app.test_cli_runner()
    args = ["mail-check", "smtp", "--host", "127.0.0.1", "--port", str(smtp_port), "--security", "starttls",
            "--username", USERNAME, "--from", SENDER, "--json"]
    good = runner.invoke(args=args, input=PASSWORD + "\n")
    assert good.exit_code == 0, good.output
    assert json.loads(good.output)["ok"] is True
    bad = runner.invoke(args=args[:-1], input="not-the-password-987\n")
    assert bad.exit_code == 1 and "Cause: wrong_password" in bad.output
