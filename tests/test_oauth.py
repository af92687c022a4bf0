"""Sign in with Microsoft (or Google) for sending: the whole authorization-code flow with PKCE
against an authorization server on loopback, SMTP by XOAUTH2 into aiosmtpd checking the token,
refresh before expiry, the rotated refresh token kept, two processes refreshing at once, and a
revoked grant that pauses sending until the owner signs in again, with nothing lost or doubled."""
import dataclasses
import shutil
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import sqlalchemy as sa

from shutterbell import crypto, inbox, jobs, oauth
from shutterbell.extensions import db
from shutterbell.models import MailAccount, Message, utcnow
from shutterbell.settings import OAuthClient

from .conftest import text_of
from .imapserver import dovecot
from .mailservers import SENDER, submission_server
from .oauthserver import CLIENT_ID, CLIENT_SECRET, AuthorizationServer, OAuthMailbox, authorization_server
from .test_outbox import POLICY, T0, deliver, statuses
from .test_scheduling import email as email_notification
from .test_scheduling import make_profile, sign_up, use


@pytest.fixture
def issuer():
    return AuthorizationServer()


@pytest.fixture
def provider(app, configure, certificate, issuer, monkeypatch):
    """The instance registered with "Microsoft" (the loopback server); its SMTP server is the
    aiosmtpd below (the host name's DNS, as it were). Yields the mailbox."""
    mailbox = OAuthMailbox(issuer)
    with authorization_server(issuer) as url, submission_server(*certificate, handler=mailbox) as port:
        configure(mail_ca_file=str(certificate[0]), base_url=POLICY.base_url,
                  oauth_clients={"microsoft": OAuthClient(CLIENT_ID, CLIENT_SECRET, f"{url}/authorize",
                                                          f"{url}/token")})
        microsoft = oauth.PROVIDERS["microsoft"]
        monkeypatch.setitem(oauth.PROVIDERS, "microsoft", dataclasses.replace(microsoft, smtp=("127.0.0.1", port,
                                                                                              "starttls")))
        yield mailbox


def sign_in_with_microsoft(browser, address=SENDER, service="smtp"):
    """Press the button (sending's or the inbox's), sign in at the provider's page, come back:
    the last response."""
    leave = browser.post(f"/settings/email/{service}/oauth/microsoft", {f"{service}-oauth-address": address})
    assert leave.status_code == 302
    at_provider = requests.get(leave.headers["Location"], allow_redirects=False, timeout=5)
    back = urlsplit(at_provider.headers["Location"])
    assert f"{back.scheme}://{back.netloc}" == POLICY.base_url  # the redirect URL registered with the provider
    return browser.get(f"{back.path}?{back.query}")


def grant(olivia):
    db.session.expire_all()
    account = db.session.scalar(sa.select(MailAccount).where(MailAccount.studio_id == olivia.studio_id))
    return account, oauth.grant_of(account, "smtp") if account else None


def run_out(account, service="smtp"):
    """The stored access token expires now: the next sign-in needs a refresh."""
    sealed = crypto.unseal(getattr(account, f"{service}_credentials"))
    sealed["oauth"]["expires_at"] = time.time()
    setattr(account, f"{service}_credentials", crypto.seal(sealed))
    db.session.commit()


def test_signing_in_connects_sending_without_a_password_and_mail_goes_by_xoauth2(as_olivia, olivia, provider,
                                                                                issuer):
    page = text_of(as_olivia.get("/settings/email/"))
    assert "Sign in with Microsoft" in page
    done = sign_in_with_microsoft(as_olivia)
    assert done.status_code == 302 and "Signed in with Microsoft: sending works." in text_of(as_olivia.get("/settings/email/"))
    account, saved = grant(olivia)
    assert (account.smtp_host, account.smtp_username, account.from_address) == ("127.0.0.1", SENDER, SENDER)
    assert saved["provider"] == "microsoft" and saved["refresh_token"] in issuer.refresh_tokens
    assert "password" not in crypto.unseal(account.smtp_credentials) and account.smtp_checked_at is not None
    page = text_of(as_olivia.get("/settings/email/"))
    assert "signs in with Microsoft as studio@lichtblick.example" in page
    assert saved["refresh_token"] not in page and saved["access_token"] not in page  # never on a page
    test = as_olivia.post("/settings/email/smtp/test", {
        "preset": "", "host": "127.0.0.1", "port": str(account.smtp_port), "security": "starttls",
        "username": SENDER, "password": "", "from_address": SENDER, "sender_name": "Studio Lichtblick",
        "reply_to": ""}, htmx=True)
    assert "Connection works" in text_of(test) and provider.sign_ins == 2  # after sign-in, and this test


def test_the_state_must_come_back_from_this_owners_own_sign_in(as_olivia, olivia, provider):
    leave = as_olivia.post("/settings/email/smtp/oauth/microsoft", {"smtp-oauth-address": SENDER})
    at_provider = requests.get(leave.headers["Location"], allow_redirects=False, timeout=5)
    forged = urlsplit(at_provider.headers["Location"])._replace(query="code=stolen&state=forged")
    as_olivia.get(f"{forged.path}?{forged.query}")
    assert grant(olivia)[1] is None
    assert "did not start on this page" in text_of(as_olivia.get("/settings/email/"))


def test_staff_cannot_connect_a_mailbox(as_sam, provider):
    assert as_sam.post("/settings/email/smtp/oauth/microsoft", {"smtp-oauth-address": SENDER}).status_code == 403


def test_a_token_is_refreshed_before_it_expires_and_the_rotated_refresh_token_kept(as_olivia, olivia, provider,
                                                                                    issuer):
    sign_in_with_microsoft(as_olivia)
    account, first = grant(olivia)
    assert oauth.access_token(account) == first["access_token"] and issuer.refreshes == 0  # good for an hour
    token = oauth.access_token(account, now=first["expires_at"] - oauth.REFRESH_BEFORE + 1)
    account, second = grant(olivia)
    assert issuer.refreshes == 1 and token == second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"] and first["refresh_token"] not in issuer.refresh_tokens
    assert second["refresh_token"] in issuer.refresh_tokens  # the rotated one is stored: the next refresh works


def test_two_processes_refreshing_at_once_refresh_once(app, as_olivia, olivia, provider, issuer):
    sign_in_with_microsoft(as_olivia)
    account, first = grant(olivia)
    issuer.delay = 0.5  # the provider is slow: both find the token expiring before either finishes
    later = first["expires_at"] - oauth.REFRESH_BEFORE + 1
    tokens, errors = [], []

    def worker():
        with app.app_context():
            try:
                mine = db.session.get(MailAccount, account.id)
                tokens.append(oauth.access_token(mine, now=later))
            except Exception as exc:  # a failure is the finding
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and issuer.refreshes == 1 and len(set(tokens)) == 1
    assert grant(olivia)[1]["refresh_token"] in issuer.refresh_tokens


def test_a_revoked_grant_pauses_sending_and_a_new_sign_in_sends_everything_once(as_olivia, olivia, provider,
                                                                               issuer):
    sign_in_with_microsoft(as_olivia)
    account, _ = grant(olivia)
    job = jobs.save_job(olivia.studio, None, jobs.JobInput(name="Kita Sonnenschein", profile_id=None,
                                                           archives_at=T0.date() + timedelta(days=40)), None)
    use(job, make_profile(olivia.studio, email_notification("customer_registered", audience="potential_buyers")))
    for name in ("Anna", "Ben"):
        sign_up(job, name, at=T0)
    dashboard = text_of(as_olivia.get("/"))
    assert "Mail accounts" in dashboard and "signed in with Microsoft" in dashboard and "Nothing sent yet." in dashboard
    issuer.revoke_all()  # and the stored access token runs out
    run_out(account)
    deliver(T0 + timedelta(minutes=1))
    account, _ = grant(olivia)
    assert account.smtp_failing_since is not None and account.smtp_failure_cause == "oauth_grant_revoked"
    assert {status for _, status in statuses()} == {"scheduled"} and not provider.received
    assert all(m.attempts == 0 for m in db.session.scalars(sa.select(Message)))  # the pause counted against nobody
    banner = text_of(as_olivia.get("/"))
    assert "Sign in again" in banner and "Paused since" in banner  # the banner and the dashboard's account state
    assert "Sign in with Microsoft again" in banner  # the button, right there in the banner
    sign_in_with_microsoft(as_olivia)  # the owner signs in again: the test passes, sending resumes
    assert grant(olivia)[0].smtp_failing_since is None
    deliver(T0 + timedelta(minutes=3))
    assert {status for _, status in statuses()} == {"sent"} and len(provider.received) == 2
    deliver(T0 + timedelta(minutes=5))
    assert len(provider.received) == 2  # once each
    dashboard = " ".join(text_of(as_olivia.get("/")).split())
    assert "Working. Last message sent" in dashboard


def test_the_inbox_signs_in_with_the_same_grant_into_dovecot(as_olivia, olivia, provider, issuer, certificate,
                                                            monkeypatch):
    """Dovecot with an oauth2 passdb asks the authorization server whether the token is good."""
    sign_in_with_microsoft(as_olivia)
    folder = Path(tempfile.mkdtemp(prefix="dovecot-oauth-"))
    folder.chmod(0o755)  # Dovecot's own user reads it
    with authorization_server(issuer) as url, dovecot(folder, *certificate, introspection_url=f"{url}/introspect",
                                                      username=SENDER) as (_, imaps):
        microsoft = oauth.PROVIDERS["microsoft"]
        monkeypatch.setitem(oauth.PROVIDERS, "microsoft", dataclasses.replace(microsoft, imap=("127.0.0.1", imaps, "ssl")))
        form = {"imap-preset": "", "imap-host": "127.0.0.1", "imap-port": str(imaps), "imap-security": "ssl",
                "imap-username": SENDER, "imap-password": "", "imap-folders": "INBOX"}
        tested = text_of(as_olivia.post("/settings/email/imap/test", form, htmx=True))
        assert "Connection works" in tested and "INBOX" in tested
        assert as_olivia.post("/settings/email/imap", form).status_code == 302
        account, _ = grant(olivia)
        assert account.imap_credentials is None  # no password of its own: the grant signs in
        assert inbox.sync(account, utcnow()) == 1  # the message in Dovecot's INBOX
        issuer.revoke_all()
        run_out(account)
        inbox.sync(account, utcnow())
        account, _ = grant(olivia)
        assert account.imap_failure_cause == "oauth_grant_revoked" and account.imap_failing_since is not None
        sign_in_with_microsoft(as_olivia)  # the banner's button: sending's sign-in, which the inbox shares
        account, _ = grant(olivia)
        assert account.imap_failing_since is None and inbox.sync(account, utcnow()) == 0  # synced again
    shutil.rmtree(folder, ignore_errors=True)


def test_an_inbox_that_is_another_mailbox_signs_in_with_its_own_grant(as_olivia, olivia, provider, issuer,
                                                                      certificate, monkeypatch):
    """Sending goes from the studio's address; the inbox to sync is "Anfragen" at Microsoft. Its
    own button, its own grant into Dovecot; revoked, the inbox banner offers its sign-in again."""
    inbox_address = "anfragen@lichtblick.example"
    sign_in_with_microsoft(as_olivia)
    issuer.user = inbox_address  # who signs in at the provider's page this time
    folder = Path(tempfile.mkdtemp(prefix="dovecot-oauth-"))
    folder.chmod(0o755)
    with authorization_server(issuer) as url, dovecot(folder, *certificate, introspection_url=f"{url}/introspect",
                                                      username=inbox_address) as (_, imaps):
        microsoft = oauth.PROVIDERS["microsoft"]
        monkeypatch.setitem(oauth.PROVIDERS, "microsoft", dataclasses.replace(microsoft, imap=("127.0.0.1", imaps, "ssl")))
        done = sign_in_with_microsoft(as_olivia, inbox_address, service="imap")
        assert done.status_code == 302 and done.headers["Location"].endswith("#imap")
        page = text_of(as_olivia.get("/settings/email/"))
        assert "Signed in with Microsoft: the inbox syncs." in page
        assert f"The inbox signs in with Microsoft as {inbox_address}" in page
        assert f"Sending signs in with Microsoft as {SENDER}" in page  # sending kept its own sign-in
        account, sending = grant(olivia)
        inbox_grant = oauth.grant_of(account, "imap")
        assert account.imap_username == inbox_address and inbox_grant["refresh_token"] != sending["refresh_token"]
        assert "password" not in crypto.unseal(account.imap_credentials)
        assert inbox.sync(account, utcnow()) == 1
        issuer.revoke_all()
        run_out(account, "imap")
        inbox.sync(account, utcnow())
        account, _ = grant(olivia)
        assert account.imap_failure_cause == "oauth_grant_revoked" and account.smtp_failing_since is None
        banner = as_olivia.get("/").get_data(as_text=True)
        assert "/settings/email/imap/oauth/microsoft" in banner and f'value="{inbox_address}"' in banner
        sign_in_with_microsoft(as_olivia, inbox_address, service="imap")  # the inbox's own button, again
        account, _ = grant(olivia)
        assert account.imap_failing_since is None and inbox.sync(account, utcnow()) == 0  # nothing new
    shutil.rmtree(folder, ignore_errors=True)


def test_a_sign_in_whose_test_fails_changes_nothing(as_olivia, olivia, provider, issuer):
    """The owner typed one mailbox and signed in as another: the server refuses the token, and
    the settings that were there stay."""
    issuer.user = "someone-else@lichtblick.example"
    page = text_of(sign_in_with_microsoft(as_olivia))
    assert "nothing was changed" in page and "Sign in" in page
    assert grant(olivia)[1] is None


def test_a_token_endpoint_outage_is_waited_out_not_a_pause(as_olivia, olivia, provider, issuer):
    sign_in_with_microsoft(as_olivia)
    account, _ = grant(olivia)
    job = jobs.save_job(olivia.studio, None, jobs.JobInput(name="Hochzeit Müller", profile_id=None,
                                                           archives_at=T0.date() + timedelta(days=40)), None)
    use(job, make_profile(olivia.studio, email_notification("customer_registered", audience="potential_buyers")))
    sign_up(job, "Anna", at=T0)
    issuer.down = True
    run_out(account)  # a refresh is due, and the provider is down
    deliver(T0 + timedelta(minutes=1))
    account, _ = grant(olivia)
    assert account.smtp_failing_since is None and statuses() == {("anna@example.com", "scheduled")}
    assert db.session.scalar(sa.select(Message)).cause == "temporary_server_error"
    issuer.down = False
    deliver(T0 + timedelta(minutes=10))
    assert statuses() == {("anna@example.com", "sent")} and len(provider.received) == 1
