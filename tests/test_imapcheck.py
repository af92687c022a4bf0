"""Test connection for IMAP against a real Dovecot on loopback: a good login over SSL/TLS and
over STARTTLS, a wrong password, a TLS mode that does not fit the port, an untrusted
certificate, a refused connection and a server that never answers."""
import ssl

import pytest

from shutterbell import mailcheck
from shutterbell.mailcheck import ImapSettings, special_folder

from .mailservers import PASSWORD, USERNAME, free_port, silent_server


def check_imap(*args, **kwargs):
    return mailcheck.check_imap(*args, allow_private=True, **kwargs)  # the test servers are on loopback


@pytest.fixture
def server(imap_ports, certificate):
    return imap_ports, certificate[0]


@pytest.fixture
def trusting(server):
    return ssl.create_default_context(cafile=str(server[1]))


def settings(port, **overrides):
    return ImapSettings(**{"host": "127.0.0.1", "port": port, "security": "ssl", "username": USERNAME,
                           "password": PASSWORD, **overrides})


def test_a_good_login_lists_folders_and_counts_the_inbox(bare_ctx, server, trusting):
    (starttls, imaps), _ = server
    for result in (check_imap(settings(imaps), context=trusting),
                   check_imap(settings(starttls, security="starttls"), context=trusting)):
        assert result.ok, result.as_dict()
        inbox_step = next(step for step in result.steps if step.name == "inbox")
        assert inbox_step.detail == "1"


@pytest.mark.parametrize("overrides, port_kind, cause", [
    ({"password": "wrong-one"}, "imaps", "wrong_password"),
    ({"security": "ssl"}, "imap", "tls_mode_mismatch"),  # SSL spoken to the STARTTLS port
])
def test_each_mistake_gets_its_cause(bare_ctx, server, trusting, overrides, port_kind, cause):
    (starttls, imaps), _ = server
    result = check_imap(settings(imaps if port_kind == "imaps" else starttls, **overrides), timeout=3,
                        context=trusting)
    assert result.diagnosis.key == cause, result.as_dict()
    assert "wrong-one" not in str(result.as_dict())


def test_an_untrusted_certificate_a_refused_port_and_a_silent_server(bare_ctx, server):
    (_, imaps), _ = server
    assert check_imap(settings(imaps)).diagnosis.key == "certificate_untrusted"
    assert check_imap(settings(free_port())).diagnosis.key == "connection_refused"
    with silent_server() as port:
        assert check_imap(settings(port, security="none"), timeout=1).diagnosis.key == "timeout"


def test_the_cli_checks_imap_too(bare_app, server, monkeypatch):
    (_, imaps), cert = server
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the CLI uses the system's trust store
    args = ["mail-check", "imap", "--host", "127.0.0.1", "--port", str(imaps), "--security", "ssl",
            "--username", USERNAME]
    good = bare_app.test_cli_runner().invoke(args=args, input=PASSWORD + "\n")
    assert good.exit_code == 0 and "inbox" in good.output, good.output
    bad = bare_app.test_cli_runner().invoke(args=args + ["--json"], input="nope\n")
    assert bad.exit_code == 1 and '"cause": "wrong_password"' in bad.output


def test_the_folders_to_sync_must_exist(bare_ctx, server, trusting):
    (_, imaps), _ = server
    found = check_imap(settings(imaps, folders=("inbox", "Sent")), context=trusting)
    assert found.ok, found.as_dict()
    assert [s.detail for s in found.steps if s.name == "folders"] == ["4: INBOX, Gesendet, Papierkorb, Sent"]
    # the Sent folder flagged \\Sent (RFC 6154) is read too, whatever it is called
    assert [s.detail for s in found.steps if s.name == "sync_folders"] == ["inbox, Sent, Gesendet"]
    missing = check_imap(settings(imaps, folders=("INBOX", "Sent Items")), context=trusting)
    assert missing.diagnosis.key == "folder_not_found" and missing.steps[-1].name == "sync_folders"
    assert "Sent Items" in missing.diagnosis.detail


def test_special_folders_are_found_by_flag_or_else_by_the_names_providers_give_them():
    """As servers answer LIST: Microsoft 365 without SPECIAL-USE flags, a Courier host under
    "INBOX.", a Polish host with a \\Noselect parent, and a server whose flag wins over a name."""
    microsoft = [((b"\\HasNoChildren",), b"/", "Inbox"), ((b"\\HasNoChildren",), b"/", "Sent Items"),
                 ((b"\\HasNoChildren",), b"/", "Deleted Items")]
    courier = [((b"\\HasChildren",), b".", "INBOX"), ((b"\\HasNoChildren",), b".", "INBOX.Gesendete Objekte"),
               ((b"\\HasNoChildren",), b".", "INBOX.Papierkorb")]
    polish = [((b"\\Noselect",), b"/", "Wysłane"), ((), b"/", "Wysłane/Elementy wysłane"), ((), b"/", "Kosz")]
    flagged = [((), b"/", "Sent"), ((b"\\sent",), b"/", "Postausgang")]
    assert [special_folder(found, b"\\Sent") for found in (microsoft, courier, polish, flagged)] == [
        "Sent Items", "INBOX.Gesendete Objekte", "Wysłane/Elementy wysłane", "Postausgang"]
    assert [special_folder(found, b"\\Trash") for found in (microsoft, courier, polish, flagged)] == [
        "Deleted Items", "INBOX.Papierkorb", "Kosz", None]
