"""The diagnostics module turns what mail servers say into a cause and a hint a studio can act on.

The fixture file holds replies real providers sent (../shared/fixtures/mail_failures.jsonl). The
rules are general (codes and shared phrases); the provider's host only matters where a provider
means something specific by a plain "authentication failed" (iCloud, Microsoft 365 IMAP).
"""
import json
import smtplib
import socket
from pathlib import Path

import pytest

from shutterbell import diagnostics

from . import replay

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "mail_failures.jsonl"
RECORDS = [json.loads(line) for line in FIXTURES.read_text().splitlines() if line.strip()]
PROVIDER_HOSTS = {"gmail": "gmail.com", "google": "gmail.com", "microsoft 365": "office365.com",
                  "outlook.com": "outlook.office365.com", "icloud": "mail.me.com", "yahoo": "mail.yahoo.com"}


def host_of(record) -> str:
    """The host a studio would have entered for this provider (what the app knows)."""
    provider = record["provider"].lower()
    domain = next((host for key, host in PROVIDER_HOSTS.items() if key in provider), "example.com")
    return f"{record['protocol']}.{domain}"


def test_the_fixture_file_is_there_and_covers_every_cause():
    assert len(RECORDS) >= 70
    assert {r["cause"] for r in RECORDS} <= set(diagnostics.CAUSES)


@pytest.mark.parametrize("record", RECORDS, ids=[f"{r['protocol']}-{r['cause']}-{i}" for i, r in enumerate(RECORDS)])
def test_each_real_reply_gets_its_cause(bare_ctx, record):
    text = (f"{record['python_exception']}: " if record["python_exception"] else "") + record["text"]
    diagnosis = diagnostics.classify(record["protocol"], record["phase"], text, record["code"], host_of(record))
    if record["code"] and 400 <= record["code"] < 500:  # temporary, whatever its words (issue 23)
        assert diagnosis.cause.retry, text
    else:
        assert replay.names(record["cause"], diagnosis.key), text


def test_every_cause_has_a_hint_and_says_whether_to_retry(bare_ctx):
    for cause in diagnostics.CAUSES.values():
        assert len(str(cause.hint)) > 40 and cause.concerns in ("account", "recipient")
    assert diagnostics.CAUSES["rate_limited"].retry and diagnostics.CAUSES["temporary_server_error"].retry
    assert not diagnostics.CAUSES["wrong_password"].retry


def test_replies_no_fixture_has_are_classified_by_their_code(bare_ctx):
    assert diagnostics.classify("smtp", "data", "451 4.3.0 Mail server busy, come back soon").key == \
        "temporary_server_error"
    assert diagnostics.classify("smtp", "mail_from", "550 5.7.60 SMTP; Client does not have permissions").key == \
        "sender_rejected"
    assert diagnostics.classify("smtp", "rcpt", "550 5.1.1 <x@example.com>: Recipient unknown").key == \
        "mailbox_unavailable"
    assert diagnostics.classify("smtp", "auth", "535 5.7.8 Nope").key == "wrong_password"
    assert diagnostics.classify("smtp", "data", "something odd").key == "other"


@pytest.mark.parametrize("phase, reply, cause", [
    # "Unavailable" in a permanent reply: postscreen refusing us, or what the other words say.
    ("rcpt", "550 5.3.2 Service currently unavailable", "client_blocked"),
    ("mail_from", "554 5.7.0 Service unavailable", "client_blocked"),
    ("auth", "550 unavailable; invalid credentials", "wrong_password"),
    # A limit per minute, hour or connection is a pace, not the day's quota.
    ("mail_from", "452 4.3.1 Send limit per hour reached", "rate_limited"),
    ("mail_from", "451 4.7.1 Email limit reached for this minute", "rate_limited"),
    ("mail_from", "421 Message limit exceeded for this connection", "rate_limited"),
    # Refusals that name the IP or the SPF record for another reason than a block list.
    ("rcpt", "554 5.7.1 Relay access denied: your IP is not authorized", "relay_denied"),
    ("mail_from", "550 Your IP is not authorized to send on behalf of müller.de, check your SPF record",
     "sender_rejected"),
    ("tls", "SSLError: [SSL: TLSV1_ALERT_INTERNAL_ERROR] tlsv1 alert internal error", "other"),
    ("mail_from", "530 5.7.0 <büro@lichtblick.example>: Sender address rejected:  not logged in", "auth_not_offered"),
    ("data", "552 Executables not allowed in: from external", "other"),
    ("mail_from", "501 5.5.4 Invalid SIZE parameter", "other"),
    ("rcpt", "552-Requested mail action aborted: exceeded storage allocation\n552 Quota exceeded.",
     "mailbox_unavailable"),
    # A protocol error at RCPT (RFC 3463 x.5.x) is no wrong address, unless its words say so.
    ("rcpt", "550 5.5.1 Protocol error", "other"),
    ("rcpt", "553 5.5.4 Adresse invalide: <zoë@kraków.example> (invalid address)", "mailbox_unavailable"),
    ("rcpt", "550-5.5.1 Bad address syntax: <zoë@kraków>\n550 5.5.1 see RFC 5321", "mailbox_unavailable"),
    ("rcpt", "550 Requested action not taken (host 10.5.5.12)", "mailbox_unavailable"),
    # One recipient's or one message's refusal must not pause the studio (a review's cases).
    ("rcpt", "550 5.7.1 <liste@example.de>: authorization required to post to this list", "mailbox_unavailable"),
    ("data", "554 5.7.1 Access disabled for recipient zoë@example.fr", "other"),
    ("data", "554 5.7.1 Your outgoing email is blocked because it contains a suspicious link", "other"),
    ("rcpt", "550 5.7.1 Recipient is blocked by policy (Empfänger gesperrt)", "mailbox_unavailable"),
    ("data", "552-5.7.0 This message was blocked because its content presents a potential\n552-5.7.0 security issue.",
     "message_refused"),
    ("rcpt", "550 The account or domain may not exist, they may be blacklisted, or lack DNS entries", "mailbox_unavailable"),
])
def test_words_that_look_like_a_cause_but_are_not(bare_ctx, phase, reply, cause):
    """What a fresh-eyes review found the new rules would have misread (2026-12-04)."""
    assert diagnostics.classify("smtp", phase, reply).key == cause


def test_an_imap_response_code_for_passing_trouble_outweighs_the_words(bare_ctx):
    for reply in ("NO [UNAVAILABLE] Mailbox INBOX is unavailable, try again later", "NO [INUSE] Mailbox Gesendet is unavailable"):
        assert diagnostics.classify("imap", "select", reply).key == "temporary_server_error"


def test_a_refused_connection_on_loopback(bare_ctx):
    with socket.socket() as listener:  # bind a port, then close it: nothing listens there
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
    with pytest.raises(OSError) as info:
        smtplib.SMTP("127.0.0.1", port, timeout=2)
    assert diagnostics.classify_exception(info.value, "smtp", "connect").key == "connection_refused"


def test_a_host_that_does_not_exist(bare_ctx):
    with pytest.raises(socket.gaierror) as info:
        socket.getaddrinfo("no-such-host.invalid", 587)
    assert diagnostics.classify_exception(info.value, "smtp", "connect").key == "host_not_found"


def test_a_server_that_never_greets_reads_as_the_wrong_tls_mode(bare_ctx):
    """Plain SMTP to an SSL port waits for a greeting that never comes; smtplib then reports
    'Connection unexpectedly closed: timed out', not a TimeoutError."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        with pytest.raises(smtplib.SMTPServerDisconnected) as info:
            smtplib.SMTP("127.0.0.1", silent.getsockname()[1], timeout=1)
    assert diagnostics.classify_exception(info.value, "smtp", "connect").key == "tls_mode_mismatch"


def test_a_hint_for_a_key_that_is_no_servers_cause_is_empty_unless_asked_for_the_unknowns(bare_ctx):
    """The outbox shows no hint for its own causes ("render_error"); the problems list, the banner
    and the dashboard always show one (the unknown-error hint for a key of no server's)."""
    assert diagnostics.hint_for("render_error", "smtp") == ""
    assert diagnostics.hint_for("", "imap", unknown="other") == diagnostics.CAUSES["other"].hint_for("imap")
    assert diagnostics.hint_for("message_refused", "smtp", unknown="other") == \
        diagnostics.CAUSES["message_refused"].hint_for("smtp")


def test_the_gist_of_a_refusal_drops_what_changes_from_one_message_to_the_next(bare_ctx):
    """Two customers refused alike say the same thing once addresses, queue ids and times go."""
    gist = diagnostics.gist
    assert gist("550 5.7.1 <zoë@fotografie-łódź.pl>: Zustellung abgelehnt (Richtlinie ÜX-17), Vorgang 4F2A9C") \
        == gist("550 5.7.1 <jürgen@example.com>: zustellung abgelehnt (Richtlinie ÜX-18), Vorgang 77B1D0") \
        == "550 5.7.1 zustellung abgelehnt (richtlinie vorgang"
    assert gist("550-5.7.1 Refusé 2026-12-05 21:14") == "550-5.7.1 refusé"
    assert gist("550 5.7.1 Zustellung abgelehnt") != gist("554 5.7.1 Zustellung abgelehnt")
    assert gist("550 Postfach gesperrt") != gist("550 Postfach voll")


@pytest.mark.parametrize("phase, reply, unread", [
    ("rcpt", "550 5.7.1 <zoe@example.com>: Zustellung abgelehnt (Richtlinie ÜX-17)", True),  # the code alone
    ("data", "554 Nachricht nicht angenommen: Absenderprüfung fehlgeschlagen", True),
    ("rcpt", "550 5.1.1 <zoe@example.com>: Benutzer unbekannt", False),  # its enhanced status says the mailbox
    ("rcpt", "550 <zoe@example.com>: Recipient address rejected: User unknown", False),  # its words do
    ("data", "554 5.7.1 Spam message rejected (Łódź)", False),  # a filter's verdict on the message
    ("data", "550 5.7.1 Sender address rejected: not owned by user büro@lichtblick.example", False),
])
def test_a_refusal_read_from_its_code_alone_is_unread(bare_ctx, phase, reply, unread):
    assert diagnostics.unread(diagnostics.classify("smtp", phase, reply)) is unread


def test_a_cut_reply_keeps_its_gist_whatever_the_address_and_our_own_words_are_never_unread(bare_ctx):
    reply = "550 5.7.1 <{}>: Zustellung abgelehnt, Richtlinie " + "sehr lange Begründung " * 30
    short, long = (diagnostics.classify("smtp", "rcpt", reply.format(address)).detail
                   for address in ("zoe@example.pl", "małgorzata.wąsowska-kowalczyk@fotografie-łódź.pl"))
    assert len(short) == len(long) == 500 and diagnostics.gist(short) == diagnostics.gist(long)
    ours = diagnostics.Diagnosis(diagnostics.CAUSES["address_not_sendable"],
                                 "Letters such as ü before the @ cannot be sent to yet.")
    assert not diagnostics.unread(ours)
