"""Settings → Email: the studio's SMTP account, tested against a real server (aiosmtpd with
STARTTLS and AUTH) before it is saved; the password sealed at rest and never shown again."""
import dataclasses
import re

import pytest
from cryptography.fernet import Fernet

from shutterbell import config, crypto, diagnostics, mailsettings, settings
from shutterbell.extensions import db
from shutterbell.models import MailAccount, utcnow

from .conftest import text_of
from .mailservers import PASSWORD, SENDER, USERNAME, free_port


@pytest.fixture(autouse=True)
def trust_test_certificate(configure, app, certificate, monkeypatch):
    """The instance trusts the test CA as it trusts a real provider's (MAIL_CA_FILE)."""
    configure(mail_ca_file=str(certificate[0]))


def form(port, **overrides):
    return {"preset": "", "host": "127.0.0.1", "port": str(port), "security": "starttls", "username": USERNAME,
            "password": PASSWORD, "from_address": SENDER, "sender_name": "Studio Lichtblick",
            "reply_to": "", **overrides}


def saved_account(olivia):
    db.session.expire_all()
    return db.session.scalar(db.select(MailAccount).where(MailAccount.studio_id == olivia.studio_id))


def test_test_connection_shows_every_step_and_saves_nothing(as_olivia, olivia, smtp_port):
    response = as_olivia.post("/settings/email/smtp/test", form(smtp_port), htmx=True)
    page = text_of(response)
    assert response.status_code == 200 and "Connection works: nothing was sent." in page
    for step in ("Connect", "Greeting (EHLO)", "Encryption (STARTTLS)", "Sign in", "Sender address accepted"):
        assert step in page
    assert '<section id="smtp"' in page and "<html" not in page  # the partial, for htmx
    assert saved_account(olivia) is None


def test_a_wrong_password_is_explained_and_never_echoed(as_olivia, smtp_port):
    response = as_olivia.post("/settings/email/smtp/test", form(smtp_port, password="hunter2-wrong"), htmx=True)
    page = text_of(response)
    assert "The test failed" in page and "What to do:" in page and "password" in page.lower()
    assert "hunter2-wrong" not in page


def test_saving_seals_the_password_and_keeps_it_when_left_empty(as_olivia, olivia, smtp_port):
    response = as_olivia.post("/settings/email/smtp", form(smtp_port))
    assert response.status_code == 302
    account = saved_account(olivia)
    assert (account.smtp_host, account.smtp_port, account.from_address) == ("127.0.0.1", smtp_port, SENDER)
    assert PASSWORD not in account.smtp_credentials and mailsettings.smtp_settings(account).password == PASSWORD
    assert account.smtp_checked_at is not None
    page = text_of(as_olivia.get("/settings/email/"))
    assert "Saved. Leave empty to keep it." in page and PASSWORD not in page
    # Empty password field: the test signs in with the saved one, and saving keeps it.
    assert "Connection works" in text_of(as_olivia.post("/settings/email/smtp/test", form(smtp_port, password="")))
    assert as_olivia.post("/settings/email/smtp", form(smtp_port, password="", sender_name="Lichtblick")).status_code == 302
    account = saved_account(olivia)
    assert account.sender_name == "Lichtblick" and mailsettings.smtp_settings(account).password == PASSWORD


def test_an_address_with_umlauts_before_the_at_is_refused_beside_its_field(as_olivia, olivia, smtp_port):
    """Letters such as ü before the @ need SMTPUTF8, which submission servers rarely offer: the
    owner reads why next to the field (it was a blank 500 page), and nothing is saved."""
    for url in ("/settings/email/smtp/test", "/settings/email/smtp"):
        response = as_olivia.post(url, form(smtp_port, from_address="jürgen.weiß@lichtblick-müller.example",
                                            reply_to="büro@lichtblick.example"), htmx=True)
        page = text_of(response)
        assert response.status_code == 422 and page.count("Mail servers take letters such as ü or ß only after") == 2
        assert 'value="Studio Lichtblick"' in response.get_data(as_text=True)  # what was typed stays
    assert saved_account(olivia) is None
    malformed = text_of(as_olivia.post("/settings/email/smtp/test", form(smtp_port, from_address="info@studio"),
                                       htmx=True))
    assert "Invalid email address." in malformed and "only after the @" not in malformed  # one error, the right one


def test_a_domain_with_umlauts_is_sent_from_in_its_ascii_form(as_olivia, olivia, smtp_port):
    """As mail programs send it (IDNA): the test's MAIL FROM reaches the server (ours owns only
    one address, so it refuses this one in its own words) and the account is saved with it."""
    umlauts = form(smtp_port, from_address="Info@Lichtblick-Müller.example", reply_to="info@grüße.example")
    page = text_of(as_olivia.post("/settings/email/smtp/test", umlauts, htmx=True))
    assert "info@xn--lichtblick-mller-uzb.example&gt;: Sender address rejected: not owned by user" in page
    assert as_olivia.post("/settings/email/smtp", {**umlauts, "save_anyway": "1"}).status_code == 302
    account = saved_account(olivia)
    assert (account.from_address, account.reply_to) == ("info@xn--lichtblick-mller-uzb.example",
                                                        "info@xn--gre-6ka8l.example")


def test_another_username_needs_its_own_password(as_olivia, olivia, smtp_port):
    as_olivia.post("/settings/email/smtp", form(smtp_port))
    response = as_olivia.post("/settings/email/smtp", form(smtp_port, username="someone-else", password=""))
    assert response.status_code == 422 and "Enter the password for this account and server." in text_of(response)


def test_a_failing_test_saves_only_when_the_owner_confirms(as_olivia, olivia, smtp_port):
    bad = form(smtp_port, from_address="stranger@elsewhere.example")
    response = as_olivia.post("/settings/email/smtp", bad, htmx=True)
    assert response.status_code == 422 and "Save anyway" in text_of(response)
    assert saved_account(olivia) is None
    response = as_olivia.post("/settings/email/smtp", {**bad, "save_anyway": "1"}, htmx=True)
    assert response.headers["HX-Redirect"].endswith("/settings/email/")
    account = saved_account(olivia)
    assert account.from_address == "stranger@elsewhere.example" and account.smtp_checked_at is None


def test_another_server_saved_untested_has_no_successful_test_yet(as_olivia, olivia, smtp_port):
    """The page said "Last successful test" of the server before: a test of other settings."""
    as_olivia.post("/settings/email/smtp", form(smtp_port))
    assert "Last successful test" in text_of(as_olivia.get("/settings/email/"))
    as_olivia.post("/settings/email/smtp", {**form(free_port()), "save_anyway": "1"}, htmx=True)  # nothing listens
    assert saved_account(olivia).smtp_checked_at is None
    assert "Last successful test" not in text_of(as_olivia.get("/settings/email/"))
    # Saved untested again with the same server and user: the earlier test of it still holds.
    as_olivia.post("/settings/email/smtp", form(smtp_port))
    as_olivia.post("/settings/email/smtp", {**form(smtp_port, from_address="stranger@elsewhere.example"),
                                            "save_anyway": "1"}, htmx=True)
    assert saved_account(olivia).smtp_checked_at is not None


def test_field_errors_come_back_with_422(as_olivia, olivia):
    response = as_olivia.post("/settings/email/smtp", form(99999, host="", from_address="not-an-address"))
    assert response.status_code == 422
    assert text_of(response).count('class="error"') >= 3
    assert saved_account(olivia) is None


def test_a_preset_fills_the_server_and_says_what_the_provider_needs(as_olivia):
    page = text_of(as_olivia.post("/settings/email/smtp/preset", form("", preset="gmail", host=""), htmx=True))
    assert 'value="smtp.gmail.com"' in page and 'value="587"' in page
    assert "app password" in page
    assert f'value="{USERNAME}"' in page  # what was typed stays


def test_test_connection_is_rate_limited(as_olivia, smtp_port):
    for _ in range(20):
        as_olivia.post("/settings/email/smtp/test", form(free_port(), username=""), htmx=True)
    response = as_olivia.post("/settings/email/smtp/test", form(smtp_port), htmx=True)
    assert response.status_code == 429 and "Too many tests" in text_of(response)


def test_staff_cannot_see_or_change_mail_settings(as_sam, smtp_port):
    assert as_sam.get("/settings/email/").status_code == 403
    assert as_sam.post("/settings/email/smtp/test", form(smtp_port)).status_code == 403


def test_rotating_the_key_keeps_every_password(app, as_olivia, olivia, smtp_port, configure):
    as_olivia.post("/settings/email/smtp", form(smtp_port))
    new = Fernet.generate_key().decode()
    configure(encryption_keys=(new, *app.extensions[settings.KEY].encryption_keys))
    result = app.test_cli_runner().invoke(args=["rotate-secrets"])
    assert "Re-encrypted 1 stored credential(s)." in result.output
    configure(encryption_keys=(new,))
    assert mailsettings.smtp_settings(saved_account(olivia)).password == PASSWORD  # readable without the old key


def test_a_secret_sealed_with_a_removed_key_is_a_clear_error(bare_app, monkeypatch):
    with bare_app.app_context():
        sealed = crypto.seal({"password": "x"})
        other = dataclasses.replace(bare_app.extensions[settings.KEY], encryption_keys=(Fernet.generate_key().decode(),))
        monkeypatch.setitem(bare_app.extensions, settings.KEY, other)
        with pytest.raises(crypto.SecretError, match="ENCRYPTION_KEYS"):
            crypto.unseal(sealed)


def test_keys_come_from_the_environment_or_the_embedded_instance(tmp_path):
    embedded = config.load(str(tmp_path), {})
    assert config.load(str(tmp_path), {})["ENCRYPTION_KEYS"] == embedded["ENCRYPTION_KEYS"]  # generated once
    assert (tmp_path / "encryption_key").stat().st_mode & 0o777 == 0o600
    shared = {"DATABASE_URL": "postgresql://db/shutterbell", "SECRET_KEY": "s"}
    with pytest.raises(config.ConfigError, match="ENCRYPTION_KEYS must be set"):
        config.load(str(tmp_path), shared)
    with pytest.raises(config.ConfigError, match="Fernet keys"):
        config.load(str(tmp_path), {**shared, "ENCRYPTION_KEYS": "not-a-key"})
    key = Fernet.generate_key().decode()
    assert config.load(str(tmp_path), {**shared, "ENCRYPTION_KEYS": key})["ENCRYPTION_KEYS"] == key


def test_a_passing_test_of_the_saved_settings_resumes_paused_sending(as_olivia, olivia, smtp_port):
    as_olivia.post("/settings/email/smtp", form(smtp_port))
    account = saved_account(olivia)
    account.smtp_failing_since, account.smtp_failure_cause = utcnow(), "wrong_password"
    db.session.commit()
    assert "SMTP settings" in text_of(as_olivia.get("/"))
    as_olivia.post("/settings/email/smtp/test", form(smtp_port, password="", host="other.invalid"), htmx=True)
    assert saved_account(olivia).smtp_failing_since is not None  # other settings than the saved ones
    as_olivia.post("/settings/email/smtp/test", form(smtp_port, password=""), htmx=True)
    assert saved_account(olivia).smtp_failing_since is None
    assert "SMTP settings" not in text_of(as_olivia.get("/"))


def test_a_test_email_goes_to_the_owner_only(as_olivia, olivia, server):
    mailbox, port = server
    page = text_of(as_olivia.post("/settings/email/smtp/test", {**form(port), "send_test": "1"}, htmx=True))
    assert "a test email is on its way to you" in page
    assert len(mailbox.received) == 1
    assert b"To: olivia@lichtblick.example" in mailbox.received[0]
    assert b"Subject: Shutterbell: test email" in mailbox.received[0]
    as_olivia.post("/settings/email/smtp/test", form(port), htmx=True)
    assert len(mailbox.received) == 1  # a plain test sends nothing


def test_a_test_email_deferred_for_the_senders_domain_says_what_to_fix_there_and_in_the_problems(as_olivia, server):
    """A 4xx is tried again, never a reason to pause; its words still name what to fix."""
    mailbox, port = server
    mailbox.mail_reply = "450 4.1.8 <studio@lichtblick.example>: Sender address rejected: Domain not found (Grüße)"
    page = text_of(as_olivia.post("/settings/email/smtp/test", {**form(port), "send_test": "1"}, htmx=True))
    fix = "Deferred, and waiting may not help: The server will not send from this address"
    assert fix in page and "Domain not found (Grüße)" in page and not mailbox.received
    problems = text_of(as_olivia.get("/settings/email/")).split('id="problems"')[1]
    assert fix in problems and "Sending · Test connection" in problems


# ---- Inbox sync (IMAP) ------------------------------------------------------------------------

def imap_form(port, **overrides):
    values = {"preset": "", "host": "127.0.0.1", "port": str(port), "security": "ssl", "username": USERNAME,
              "password": PASSWORD, "folders": "INBOX, Sent", **overrides}
    return {f"imap-{name}": value for name, value in values.items()}


def test_the_inbox_section_starts_from_the_sending_account(as_olivia, olivia, smtp_port):
    as_olivia.post("/settings/email/smtp", {**form(smtp_port), "save_anyway": "1"})
    account = saved_account(olivia)
    account.smtp_host = "smtp.gmail.com"  # as if the Gmail preset had been saved
    db.session.commit()
    page = text_of(as_olivia.get("/settings/email/"))
    assert 'id="imap-host"' in page and 'value="imap.gmail.com"' in page and 'value="993"' in page
    assert re.search(f'<input[^>]*id="imap-username"[^>]*value="{USERNAME}"', page)
    assert "Leave empty to use the sending password" in page


def test_test_connection_for_the_inbox_lists_folders_and_saves_nothing(as_olivia, olivia, imap_ports):
    response = as_olivia.post("/settings/email/imap/test", imap_form(imap_ports[1]), htmx=True)
    page = text_of(response)
    assert response.status_code == 200 and "Connection works: nothing was sent." in page, page
    for step in ("Connect", "Sign in", "List folders", "4: INBOX, Gesendet, Papierkorb, Sent", "Open INBOX"):
        assert step in page
    assert '<section id="imap"' in page and '<section id="smtp"' not in page
    assert saved_account(olivia) is None


def test_the_inbox_can_use_the_sending_password_at_the_same_provider(as_olivia, olivia, smtp_port, imap_ports,
                                                                      monkeypatch):
    # A provider whose SMTP and IMAP servers are the test servers, as Gmail's are smtp. and imap.gmail.com.
    monkeypatch.setitem(mailsettings.PRESETS, "test", mailsettings.Preset(
        "Test", ("127.0.0.1", smtp_port, "starttls"), ("127.0.0.1", imap_ports[1], "ssl")))
    as_olivia.post("/settings/email/smtp", form(smtp_port))
    response = as_olivia.post("/settings/email/imap", imap_form(imap_ports[1], password="", sent_copy="never"))
    assert response.status_code == 302, text_of(response)
    account = saved_account(olivia)
    assert (account.imap_host, account.imap_port, account.imap_folders) == ("127.0.0.1", imap_ports[1], "INBOX, Sent")
    assert account.imap_credentials is None and account.imap_checked_at is not None
    assert account.sent_copy == "never"  # the owner's choice over the provider's default
    assert mailsettings.imap_settings(account).password == PASSWORD
    # Another username needs its own password.
    response = as_olivia.post("/settings/email/imap", imap_form(imap_ports[1], username="other", password=""))
    assert response.status_code == 422 and "Enter the password for this account and server." in text_of(response)


def test_a_missing_folder_fails_the_test_and_is_listed_under_problems(as_olivia, olivia, imap_ports):
    response = as_olivia.post("/settings/email/imap", imap_form(imap_ports[1], folders="INBOX, Sent Items"),
                              htmx=True)
    page = text_of(response)
    assert response.status_code == 422 and "Folders to sync found" in page and "Save anyway" in page
    assert 'name="imap-save_anyway"' in page
    assert "the inbox sync keeps trying" in page and "messages wait" not in page  # no sending words for the inbox
    saved = as_olivia.post("/settings/email/imap", {**imap_form(imap_ports[1], folders="INBOX, Sent Items"),
                                                    "imap-save_anyway": "1"}, htmx=True)
    assert saved.headers["HX-Redirect"].endswith("/settings/email/")
    assert saved_account(olivia).imap_folders == "INBOX, Sent Items"
    problems = text_of(as_olivia.get("/settings/email/")).split('id="problems"')[1]
    assert "Not found: Sent Items" in problems and "Inbox sync · Test connection" in problems


def test_the_inbox_sync_banner_shows_until_a_test_passes(as_olivia, olivia, imap_ports):
    as_olivia.post("/settings/email/imap", imap_form(imap_ports[1]))
    account = saved_account(olivia)
    mailsettings.record_failure(account, "imap", diagnostics.classify("imap", "auth", "[AUTHENTICATIONFAILED] "
                                                                      "Invalid credentials (Failure)"), utcnow())
    db.session.commit()
    page = text_of(as_olivia.get("/"))
    assert "Inbox sync:" in page and "the inbox sync fails since" in page and "Invalid credentials" in page
    assert "SMTP settings:" not in page
    problems = text_of(as_olivia.get("/settings/email/")).split('id="problems"')[1]
    assert "Inbox sync" in problems and "Inbox sync ·" not in problems  # a real sync: no "· Test connection"
    section = text_of(as_olivia.get("/settings/email/")).split('id="imap"')[1].split("</section>")[0]
    assert "The sync fails since" in section and "Invalid credentials" in section
    as_olivia.post("/settings/email/imap/test", imap_form(imap_ports[1], password=""), htmx=True)
    assert saved_account(olivia).imap_failing_since is None
    assert "Inbox sync:" not in text_of(as_olivia.get("/"))


def test_an_unposted_section_keeps_its_saved_values(as_olivia, olivia, smtp_port, imap_ports):
    as_olivia.post("/settings/email/smtp", form(smtp_port))
    response = as_olivia.post("/settings/email/imap", imap_form(imap_ports[1], host=""))
    page = text_of(response)
    assert response.status_code == 422
    assert re.search('<input[^>]*id="host"[^>]*value="127.0.0.1"', page)  # the SMTP section
    assert page.count("This field is required.") == 1


def test_a_saved_password_is_never_sent_to_another_server(as_olivia, olivia, smtp_port, imap_ports):
    as_olivia.post("/settings/email/smtp", form(smtp_port))
    for host in ("other.invalid", "127.0.0.2"):
        response = as_olivia.post("/settings/email/smtp/test", form(smtp_port, host=host, password=""), htmx=True)
        assert response.status_code == 422 and "Enter the password for this account and server." in text_of(response)
    response = as_olivia.post("/settings/email/smtp/test", form(smtp_port, security="none", password=""), htmx=True)
    assert response.status_code == 422  # nor in the clear to the same one
    # The inbox may borrow the sending password only for the saved inbox or the provider's own IMAP server.
    response = as_olivia.post("/settings/email/imap/test", imap_form(imap_ports[1], host="127.0.0.3", password=""),
                              htmx=True)
    assert response.status_code == 422


def test_saving_runs_the_test_so_it_counts_against_the_limit(as_olivia, smtp_port):
    for _ in range(20):
        as_olivia.post("/settings/email/smtp", form(smtp_port, password="wrong"), htmx=True)
    response = as_olivia.post("/settings/email/smtp", form(smtp_port), htmx=True)
    assert response.status_code == 429 and "Too many tests" in text_of(response)


def test_the_owner_disconnects_the_inbox(as_olivia, olivia, imap_ports):
    as_olivia.post("/settings/email/imap", imap_form(imap_ports[1]))
    account = saved_account(olivia)
    account.imap_failing_since, account.imap_failure_cause = utcnow(), "wrong_password"
    db.session.commit()
    assert as_olivia.post("/settings/email/imap/remove", htmx=True).headers["HX-Redirect"].endswith("/settings/email/")
    account = saved_account(olivia)
    assert (account.imap_host, account.imap_credentials, account.imap_failing_since) == ("", None, None)
    assert "Inbox sync:" not in text_of(as_olivia.get("/"))
